//! `POST /auth/introspect` (RFC 7662). The caller shows a valid access token of its own;
//! a token of another tenant, or one that fails in any way, is `{"active": false}`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::oauth_error::{no_store, OAuthError};
use super::token_endpoint::form;
use super::tokens::{bearer, verify};
use crate::fhir::AppState;

pub async fn handle(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match introspect(&state, &headers, &body).await {
        Ok(v) => no_store((StatusCode::OK, axum::Json(v)).into_response()),
        Err(e) => e.into_response(),
    }
}

async fn introspect(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, OAuthError> {
    let caller = caller(state, headers).await?;
    let fields = form(headers, body)?;
    let token = fields
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
    let inactive = json!({"active": false});
    let Ok(access) = verify(&state.store, &state.keys, &state.config.base_url, token).await else {
        return Ok(inactive);
    };
    if access.tenant.id != caller.tenant.id {
        return Ok(inactive);
    }
    let claims = super::tokens::unverified_claims(token).unwrap_or(Value::Null);
    let mut out = json!({
        "active": true,
        "scope": access.scopes.to_scope_string(),
        "client_id": access.client_id,
        "sub": access.subject,
        "iss": claims["iss"],
        "aud": claims["aud"],
        "exp": claims["exp"],
        "iat": claims["iat"],
        "token_type": if access.bound_to.is_some() { "DPoP" } else { "Bearer" },
    });
    // RFC 9449 §6.2: the resource server checks the proof against this.
    if let Some(jkt) = &access.bound_to {
        out["cnf"] = json!({"jkt": jkt});
    }
    if let Some(p) = access.patient {
        out["patient"] = json!(p);
    }
    if let Some(u) = access.fhir_user {
        out["fhirUser"] = json!(format!("{}/{u}", state.config.base_url));
    }
    Ok(out)
}

/// Introspection and revocation are for authenticated callers (RFC 7662 §2.1).
pub async fn caller(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<super::access::Access, OAuthError> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let token = bearer(authorization).map_err(|_| OAuthError::invalid_client("no bearer token"))?;
    let access = verify(&state.store, &state.keys, &state.config.base_url, token)
        .await
        .map_err(|_| OAuthError::invalid_client("caller's token refused"))?;
    // A DPoP-bound token sent as a bearer token is a stolen one (RFC 9449 §7.2); these
    // endpoints take no proofs, so bound tokens cannot authenticate here.
    if access.bound_to.is_some() {
        return Err(OAuthError::invalid_client(
            "a DPoP-bound token cannot authenticate a caller here",
        ));
    }
    Ok(access)
}
