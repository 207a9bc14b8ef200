//! The access log (pasientjournalloven § 22, Normen factsheet 15): every request that
//! touches personal data, or tries to, and every token grant becomes a chained row, written
//! durably before the response leaves. Writes log in their own transaction; reads through
//! the group-commit writer.

pub mod layer;
pub mod patients;
pub mod render;
pub mod verify;
pub mod writer;

use std::collections::BTreeSet;

use crate::auth::access::Access;
use crate::store::audit::AuditRecord;
use crate::store::now_micros;

/// Who made a request, as far as it is known.
#[derive(Debug, Clone, Default)]
pub struct Agent {
    /// Empty for a request without a valid token.
    pub tenant_id: String,
    pub client_id: Option<String>,
    /// `Practitioner/ID` or `Patient/ID`.
    pub user: Option<String>,
    /// The network address the request came from.
    pub source: Option<String>,
    /// Why, when the token says.
    pub purpose: Option<String>,
}

impl Agent {
    pub fn of(access: &Access, source: Option<String>) -> Agent {
        Agent {
            tenant_id: access.tenant.id.clone(),
            client_id: Some(access.client_id.clone()),
            user: access.fhir_user.clone(),
            source,
            purpose: access.purpose_of_use.clone(),
        }
    }
}

/// What a FHIR handler knows about its request for the log, carried to the logging layer
/// on the response.
#[derive(Debug, Clone, Default)]
pub struct AuditNote {
    pub agent: Agent,
    /// The FHIR interaction, e.g. `read` or `search-type`.
    pub subtype: Option<&'static str>,
    pub entity: Option<String>,
    pub patients: BTreeSet<String>,
    /// Written already, in the transaction of the write it describes.
    pub recorded: bool,
}

/// The CRUDE action of a FHIR interaction.
pub fn action_of(subtype: &str) -> &'static str {
    match subtype {
        "create" => "C",
        "update" | "patch" => "U",
        "delete" => "D",
        "operation" | "login" | "transmit" | "batch" | "transaction" => "E",
        _ => "R",
    }
}

/// A new row for the log. `outcome` is 0 (success), 4 (refused, or failed on the caller's
/// side) or 8 (failed on ours).
pub fn record(
    agent: &Agent,
    type_code: &str,
    subtype: &str,
    outcome: &str,
    outcome_desc: Option<String>,
    entity: Option<String>,
    patients: impl IntoIterator<Item = String>,
) -> AuditRecord {
    AuditRecord {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: agent.tenant_id.clone(),
        recorded: now_micros(),
        type_code: type_code.to_string(),
        subtype: subtype.to_string(),
        action: action_of(subtype).to_string(),
        outcome: outcome.to_string(),
        outcome_desc,
        agent_user: agent.user.clone(),
        agent_client: agent.client_id.clone(),
        source: agent.source.clone(),
        purpose: agent.purpose.clone(),
        entity,
        patients: patients.into_iter().collect(),
    }
}

/// The outcome code of an HTTP status.
pub fn outcome_of(status: u16) -> &'static str {
    match status {
        0..=399 => "0",
        400..=499 => "4",
        _ => "8",
    }
}
