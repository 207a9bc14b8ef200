//! The access-log row of a token grant: which client got which scopes, for which user and
//! patient. Written before the token is handed out.

use super::oauth_error::OAuthError;
use super::scopes::Scopes;
use crate::audit::{record, Agent};
use crate::fhir::AppState;

pub async fn log_grant(
    state: &AppState,
    tenant_id: &str,
    client_id: &str,
    user: Option<&str>,
    scopes: &Scopes,
    patient: Option<&str>,
) -> Result<(), OAuthError> {
    let agent = Agent {
        tenant_id: tenant_id.to_string(),
        client_id: Some(client_id.to_string()),
        user: user.map(str::to_string),
        source: None,
        purpose: None,
    };
    let row = record(
        &agent,
        "login",
        "login",
        "0",
        None,
        Some(format!("token: {}", scopes.to_scope_string())),
        patient.map(str::to_string),
    );
    state
        .audit
        .append(row)
        .await
        .map_err(OAuthError::server_error)
}
