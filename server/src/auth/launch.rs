//! EHR launch: an operator or EHR opens an app for a patient. The launch id goes to the app
//! with the FHIR base (`iss`); the app's authorize request hands it back, and the patient
//! becomes the token's context.

use super::secrets::random_token;
use crate::store::authorizations::LaunchContext;
use crate::store::{now_micros, Store};
use crate::tenant::Tenant;

/// A launch is started right away; an hour covers a slow start.
pub const LAUNCH_LIFETIME_SECS: i64 = 3600;

/// Records the launch and returns the URL that opens the app: its launch URL with `iss`
/// and `launch`, or only the launch id when the app registered no launch URL.
pub async fn launch(
    store: &Store,
    tenant: &Tenant,
    client_id: &str,
    patient_id: &str,
    fhir_base: &str,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let client = store
        .client(client_id)
        .await?
        .filter(|c| c.tenant_id == tenant.id)
        .ok_or_else(|| format!("no client {client_id} in tenant {}", tenant.org_number))?;
    let patient = store
        .read_current(&tenant.id, "Patient", patient_id)
        .await?;
    if patient.is_none_or(|p| p.deleted) {
        return Err(format!("no Patient/{patient_id} in tenant {}", tenant.org_number).into());
    }
    let id = random_token();
    store
        .add_launch_context(&LaunchContext {
            id: id.clone(),
            tenant_id: tenant.id.clone(),
            client_id: client.client_id.clone(),
            patient_id: patient_id.to_string(),
            expires_at: now_micros() / 1_000_000 + LAUNCH_LIFETIME_SECS,
        })
        .await?;
    Ok(match client.launch_uri {
        Some(uri) => {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("iss", fhir_base)
                .append_pair("launch", &id)
                .finish();
            let sep = if uri.contains('?') { '&' } else { '?' };
            format!("{uri}{sep}{query}")
        }
        None => id,
    })
}
