//! Alerts in the platform export. Like journal notes they are not served resources; a
//! line that closes an alert queues its document (see `delivery::alerts`).

use serde::Deserialize;

use crate::delivery::alerts::write_alert;
use crate::store::document_sources::AlertFacts;
use crate::store::Store;
use crate::tenant::Tenant;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertLine {
    #[serde(rename = "type")]
    _type: String,
    pub id: String,
    pub patient: String,
    /// A code of VKP's alert code system, e.g. `5.3.2` (Måling ikke rapportert).
    pub code: String,
    pub detail: String,
    /// The ids of the measurements that raised it.
    #[serde(default)]
    pub evidence: Vec<String>,
    /// FHIR dateTime the alert was raised.
    pub identified: String,
    /// FHIR dateTime it was closed; absent while it is open.
    pub closed: Option<String>,
    /// The Practitioner id of who closed it.
    pub closed_by: Option<String>,
}

fn instant(field: &str, value: &str) -> Result<i64, String> {
    helsebro_mappings::dates::parse_range(value)
        .map(|r| r.low)
        .ok_or_else(|| format!("{field}: '{value}' is not a FHIR dateTime"))
}

pub async fn write(store: &Store, tenant: &Tenant, line: AlertLine) -> Result<(), String> {
    crate::fhir::check_id(&line.id).map_err(|e| e.to_string())?;
    if helsebro_mappings::document::alert_display(&line.code).is_none() {
        return Err(format!(
            "code: '{}' is not a code of vkp-alert-code-v090",
            line.code
        ));
    }
    let alert = AlertFacts {
        id: line.id,
        patient_id: line.patient,
        code: line.code,
        detail: line.detail,
        evidence: line.evidence,
        identified_at: instant("identified", &line.identified)?,
        closed_at: line
            .closed
            .as_deref()
            .map(|c| instant("closed", c))
            .transpose()?,
        closed_by: line.closed_by,
    };
    write_alert(store, &tenant.id, &alert)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
