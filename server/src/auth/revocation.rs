//! `POST /auth/revoke` (RFC 7009): a client revokes one of its own tokens. Unknown or
//! foreign tokens get the same 200, so the endpoint reveals nothing.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::introspection::caller;
use super::oauth_error::{no_store, OAuthError};
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
    let caller = caller(state, headers).await?;
    let fields = form(headers, body)?;
    let token = fields
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
    let Ok(target) = verify(&state.store, &state.keys, &state.config.base_url, token).await else {
        return Ok(());
    };
    let own = target.tenant.id == caller.tenant.id && target.client_id == caller.client_id;
    if let (true, Some(jti)) = (
        own,
        super::tokens::unverified_claims(token).and_then(|c| c["jti"].as_str().map(str::to_string)),
    ) {
        state
            .store
            .revoke_access_grant(&jti)
            .await
            .map_err(OAuthError::server_error)?;
    }
    Ok(())
}
