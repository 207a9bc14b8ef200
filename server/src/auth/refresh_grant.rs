//! The refresh token grant: a new access token with the scopes of the grant or fewer (a
//! refresh may only narrow), and a new refresh token in place of the used one. A used
//! refresh token presented again means it leaked: every token of its authorization is
//! revoked.

use std::collections::HashMap;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::client_auth;
use super::oauth_error::OAuthError;
use super::scopes::Scopes;
use super::secrets::hash;
use super::user_tokens::{fresh_or_revoke, respond, UserGrant};
use crate::fhir::AppState;

pub async fn grant(
    state: &AppState,
    headers: &HeaderMap,
    fields: &HashMap<String, String>,
) -> Result<Response, OAuthError> {
    let presented = fields
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is missing"))?;
    let requested = match fields.get("scope") {
        Some(s) => Some(Scopes::parse(s).map_err(|e| {
            OAuthError::new(StatusCode::BAD_REQUEST, "invalid_scope", e.to_string())
        })?),
        None => None,
    };
    let token_hash = hash(presented);
    let redeemed = state
        .store
        .redeem_refresh_token(&token_hash)
        .await
        .map_err(OAuthError::server_error)?;
    let t = fresh_or_revoke(state, redeemed, "refresh token").await?;
    let client = match client_auth::authenticate(state, headers, fields, Some(&t.client_id)).await {
        Ok(c) if c.client_id == t.client_id => c,
        refused => {
            // Whoever failed here did not hold the token rightfully; the holder still may.
            state
                .store
                .restore_refresh_token(&token_hash)
                .await
                .map_err(OAuthError::server_error)?;
            return Err(refused.err().unwrap_or_else(|| {
                OAuthError::invalid_grant("the refresh token was issued to another client")
            }));
        }
    };
    let kept = Scopes::parse(&t.scope).unwrap_or_default();
    let scopes = match requested {
        Some(r) if !kept.covers(&r) => {
            // A refused narrowing leaves the refresh token as it was.
            state
                .store
                .restore_refresh_token(&token_hash)
                .await
                .map_err(OAuthError::server_error)?;
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "a refresh may only narrow the scopes of the original grant",
            ));
        }
        Some(r) => r,
        None => kept.clone(),
    };
    respond(
        state,
        UserGrant {
            tenant_id: &t.tenant_id,
            client: &client,
            authorization_id: &t.authorization_id,
            fhir_user: t.fhir_user.as_deref(),
            patient: t.patient_id.as_deref(),
            scopes: &scopes,
            refresh: Some((&kept, t.expires_at)),
            id_token: None,
        },
    )
    .await
}
