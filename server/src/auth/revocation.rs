//! `POST /auth/revoke` (RFC 7009): a client revokes one of its own tokens. An access token
//! ends at once; a refresh token ends with everything its authorization gave. Unknown or
//! foreign tokens get the same 200, so the endpoint reveals nothing.
//!
//! The caller authenticates as a client (an app: client_id, secret or assertion, as at the
//! token endpoint) or, for backend services, with an access token of its own.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::introspection::caller;
use super::oauth_error::{no_store, OAuthError};
use super::secrets::hash;
use super::token_endpoint::form;
use super::tokens::verify;
use crate::fhir::AppState;

pub async fn handle(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match revoke(&state, &headers, &body).await {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(e) => e.into_response(),
    }
}

async fn revoke(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<(), OAuthError> {
    let fields = form(headers, body)?;
    let presents_client = fields.contains_key("client_id")
        || fields.contains_key("client_assertion_type")
        || headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("basic "));
    let (tenant_id, client_id) = if presents_client {
        let client = super::client_auth::authenticate(state, headers, &fields, None).await?;
        (client.tenant_id, client.client_id)
    } else {
        let caller = caller(state, headers).await?;
        (caller.tenant.id, caller.client_id)
    };
    let token = fields
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
    if let Ok(target) = verify(&state.store, &state.keys, &state.config.base_url, token).await {
        let own = target.tenant.id == tenant_id && target.client_id == client_id;
        let jti = super::tokens::unverified_claims(token)
            .and_then(|c| c["jti"].as_str().map(str::to_string));
        if let (true, Some(jti)) = (own, jti) {
            state
                .store
                .revoke_access_grant(&jti)
                .await
                .map_err(OAuthError::server_error)?;
        }
        return Ok(());
    }
    state
        .store
        .revoke_refresh_token(&hash(token), &client_id)
        .await
        .map_err(OAuthError::server_error)?;
    Ok(())
}
