//! The token response of a user's grant (a code, or a refresh token later): the access
//! token, the launch context, an id_token when the app asked for `openid`, and a new refresh
//! token when it asked for `offline_access` or `online_access`.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::id_token::{self, IdTokenFor};
use super::oauth_error::{no_store, OAuthError};
use super::scopes::Scopes;
use super::secrets::{hash, random_token};
use super::tokens::{issue, NewToken};
use crate::fhir::AppState;
use crate::store::authorizations::{Redeemed, RefreshToken};
use crate::store::clients::Client;
use crate::store::now_micros;

pub const USER_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// `offline_access`: until revoked, or three months unused.
pub const OFFLINE_REFRESH_SECS: i64 = 90 * 24 * 3600;
/// `online_access`: this server keeps no browser session after the code is issued, so
/// "while the user is online" is taken as one working day.
pub const ONLINE_REFRESH_SECS: i64 = 12 * 3600;

pub struct UserGrant<'a> {
    pub tenant_id: &'a str,
    pub client: &'a Client,
    pub authorization_id: &'a str,
    /// `Practitioner/ID` or `Patient/ID`.
    pub fhir_user: Option<&'a str>,
    pub patient: Option<&'a str>,
    /// What this access token carries.
    pub scopes: &'a Scopes,
    /// What the refresh token keeps, at most what the user allowed; `None` issues none.
    pub refresh: Option<(&'a Scopes, i64)>,
    /// Nonce and sign-in time, for an id_token; `None` issues none.
    pub id_token: Option<(Option<&'a str>, Option<i64>)>,
}

/// When a refresh token of `scopes` issued now expires; `None` when it gets none.
pub fn refresh_expiry(scopes: &Scopes) -> Option<i64> {
    let now = now_micros() / 1_000_000;
    if scopes.offline_access {
        Some(now + OFFLINE_REFRESH_SECS)
    } else if scopes.online_access {
        Some(now + ONLINE_REFRESH_SECS)
    } else {
        None
    }
}

pub async fn respond(state: &AppState, g: UserGrant<'_>) -> Result<Response, OAuthError> {
    let tenant = state
        .store
        .tenant(g.tenant_id)
        .await
        .map_err(OAuthError::server_error)?
        .ok_or_else(|| OAuthError::server_error("the grant's tenant is gone"))?;
    let subject = g.fhir_user.unwrap_or(&g.client.client_id);
    let access_token = issue(
        &state.store,
        &state.keys,
        &state.config.base_url,
        &NewToken {
            tenant: &tenant,
            client_id: &g.client.client_id,
            subject,
            scopes: g.scopes,
            patient: g.patient,
            fhir_user: g.fhir_user,
            lifetime: USER_TOKEN_LIFETIME,
            authorization_id: Some(g.authorization_id),
            jkt: None,
        },
    )
    .await
    .map_err(OAuthError::server_error)?;
    super::grant_log::log_grant(
        state,
        &tenant.id,
        &g.client.client_id,
        g.fhir_user,
        g.scopes,
        g.patient,
    )
    .await?;
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": USER_TOKEN_LIFETIME.as_secs(),
        "scope": g.scopes.to_scope_string(),
    });
    if let Some(p) = g.patient {
        body["patient"] = json!(p);
        body["need_patient_banner"] = json!(true);
    }
    if let Some((kept, expires_at)) = g.refresh {
        let token = random_token();
        state
            .store
            .add_refresh_token(&RefreshToken {
                token_hash: hash(&token),
                authorization_id: g.authorization_id.to_string(),
                tenant_id: tenant.id.clone(),
                client_id: g.client.client_id.clone(),
                subject: subject.to_string(),
                scope: kept.to_scope_string(),
                patient_id: g.patient.map(str::to_string),
                fhir_user: g.fhir_user.map(str::to_string),
                expires_at,
            })
            .await
            .map_err(OAuthError::server_error)?;
        body["refresh_token"] = json!(token);
    }
    if let (Some((nonce, auth_time)), Some(user)) = (g.id_token, g.fhir_user) {
        let fhir_user_url = format!("{}/{user}", state.config.base_url);
        let hpr_number = match user.strip_prefix("Practitioner/") {
            Some(id) => state
                .store
                .practitioner_hpr(&tenant.id, id)
                .await
                .map_err(OAuthError::server_error)?,
            None => None,
        };
        let signed = id_token::sign(
            &state.store,
            &state.keys,
            &IdTokenFor {
                issuer: state.config.origin(),
                client_id: &g.client.client_id,
                subject: user,
                fhir_user: g.scopes.fhir_user.then_some(fhir_user_url.as_str()),
                nonce,
                auth_time,
                hpr_number: hpr_number.as_deref(),
            },
        )
        .await
        .map_err(OAuthError::server_error)?;
        body["id_token"] = json!(signed);
    }
    Ok(no_store((StatusCode::OK, axum::Json(body)).into_response()))
}

/// What a presented code or refresh token (`what`) was found to be: fresh, or refused. One
/// presented again after use may have leaked, so everything its authorization gave is
/// revoked.
pub async fn fresh_or_revoke<T>(
    state: &AppState,
    redeemed: Redeemed<T>,
    what: &str,
) -> Result<T, OAuthError> {
    match redeemed {
        Redeemed::Fresh(t) => Ok(t),
        Redeemed::Replayed { authorization_id } => {
            state
                .store
                .revoke_authorization(&authorization_id)
                .await
                .map_err(OAuthError::server_error)?;
            Err(OAuthError::invalid_grant(format!(
                "the {what} was already used"
            )))
        }
        Redeemed::Unknown => Err(OAuthError::invalid_grant(format!(
            "the {what} is unknown or expired"
        ))),
    }
}
