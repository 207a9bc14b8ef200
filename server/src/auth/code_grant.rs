//! The authorization code grant: the app trades the code from the consent page, with its
//! PKCE verifier, for tokens. A code works once; presenting it again revokes everything it
//! gave (RFC 6749 §4.1.2).

use std::collections::HashMap;

use axum::http::HeaderMap;
use axum::response::Response;

use super::client_auth;
use super::oauth_error::OAuthError;
use super::scopes::Scopes;
use super::secrets::{hash, pkce_challenge, same};
use super::user_tokens::{fresh_or_revoke, refresh_expiry, respond, UserGrant};
use crate::fhir::AppState;

pub async fn grant(
    state: &AppState,
    headers: &HeaderMap,
    fields: &HashMap<String, String>,
) -> Result<Response, OAuthError> {
    let client = client_auth::authenticate(state, headers, fields, None).await?;
    let field = |name: &str| {
        fields
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| OAuthError::invalid_request(format!("{name} is missing")))
    };
    let (code, redirect_uri, verifier) = (
        field("code")?,
        field("redirect_uri")?,
        field("code_verifier")?,
    );
    let redeemed = state
        .store
        .redeem_authorization_code(&hash(code))
        .await
        .map_err(OAuthError::server_error)?;
    let a = fresh_or_revoke(state, redeemed, "code").await?;
    if a.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if a.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the authorization request",
        ));
    }
    if !same(&pkce_challenge(verifier), &a.code_challenge) {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    let scopes = Scopes::parse(&a.scope).unwrap_or_default();
    let refresh = refresh_expiry(&scopes).map(|expires| (&scopes, expires));
    respond(
        state,
        UserGrant {
            tenant_id: &a.tenant_id,
            client: &client,
            authorization_id: &a.id,
            fhir_user: a.fhir_user.as_deref(),
            patient: a.patient_id.as_deref(),
            scopes: &scopes,
            refresh,
            id_token: scopes
                .openid
                .then_some((a.nonce.as_deref(), a.signed_in_at)),
        },
    )
    .await
}
