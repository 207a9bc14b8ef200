//! `POST /auth/token`: the SMART backend services grant (client credentials with a
//! signed client assertion).

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::client_assertion;
use super::oauth_error::{no_store, OAuthError};
use super::scopes::{Context, Scopes};
use super::tokens::{issue, NewToken};
use crate::fhir::AppState;

/// SMART recommends five minutes for backend services tokens.
pub const BACKEND_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

pub async fn handle(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match token(&state, &headers, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// The form fields of an OAuth request; a repeated field is a malformed request.
pub fn form(headers: &HeaderMap, body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let mut fields = HashMap::new();
    for (k, v) in form_urlencoded::parse(body).into_owned() {
        if fields.insert(k.clone(), v).is_some() {
            return Err(OAuthError::invalid_request(format!("{k} is given twice")));
        }
    }
    Ok(fields)
}

async fn token(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let fields = form(headers, body)?;
    match fields.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {}
        Some(other) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("grant_type '{other}' is not supported"),
            ))
        }
        None => return Err(OAuthError::invalid_request("grant_type is missing")),
    }
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
        },
    )
    .await
    .map_err(OAuthError::server_error)?;
    let body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": BACKEND_TOKEN_LIFETIME.as_secs(),
        "scope": granted.to_scope_string(),
    });
    Ok(no_store((StatusCode::OK, axum::Json(body)).into_response()))
}
