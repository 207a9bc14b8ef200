//! The client credentials grant of SMART backend services: a client authenticated by a
//! signed assertion gets a short-lived token with the system/ scopes it is registered for.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::client_assertion;
use super::oauth_error::{no_store, OAuthError};
use super::scopes::{Context, Scopes};
use super::tokens::{issue, NewToken};
use crate::fhir::AppState;

/// SMART recommends five minutes for backend services tokens.
pub const BACKEND_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// Issues a backend services token (SMART Backend Services: client credentials with a
/// signed client assertion).
pub async fn grant(
    state: &AppState,
    fields: &HashMap<String, String>,
) -> Result<Response, OAuthError> {
    let client = client_assertion::authenticate(
        &state.store,
        &state.config.auth_url("token"),
        fields.get("client_assertion_type").map(String::as_str),
        fields.get("client_assertion").map(String::as_str),
    )
    .await?;
    let requested = fields
        .get("scope")
        .ok_or_else(|| OAuthError::invalid_request("scope is missing"))?;
    let requested = Scopes::parse(requested)
        .map_err(|e| OAuthError::new(StatusCode::BAD_REQUEST, "invalid_scope", e.to_string()))?;
    let allowed = Scopes::parse(&client.scope).unwrap_or_default();
    let granted = requested.restrict_to(&allowed);
    let only_system = granted.contexts().iter().all(|c| *c == Context::System);
    if granted.clinical.is_empty() || !only_system {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "none of the requested system/ scopes is registered for this client",
        ));
    }
    let tenant = state
        .store
        .tenant(&client.tenant_id)
        .await
        .map_err(OAuthError::server_error)?
        .ok_or_else(|| OAuthError::server_error("the client's tenant is gone"))?;
    let access_token = issue(
        &state.store,
        &state.keys,
        &state.config.base_url,
        &NewToken {
            tenant: &tenant,
            client_id: &client.client_id,
            subject: &client.client_id,
            scopes: &granted,
            patient: None,
            fhir_user: None,
            lifetime: BACKEND_TOKEN_LIFETIME,
            authorization_id: None,
        },
    )
    .await
    .map_err(OAuthError::server_error)?;
    super::grant_log::log_grant(state, &tenant.id, &client.client_id, None, &granted, None).await?;
    let body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": BACKEND_TOKEN_LIFETIME.as_secs(),
        "scope": granted.to_scope_string(),
    });
    Ok(no_store((StatusCode::OK, axum::Json(body)).into_response()))
}
