//! The client credentials grant of SMART backend services: a client authenticated by a
//! signed assertion gets a short-lived token with the system/ scopes it is registered for.
//!
//! With a `DPoP` header (RFC 9449) the token is bound to the proof's key (`cnf.jkt`,
//! `token_type` `DPoP`). The proof must carry a nonce this server issued: without one the
//! answer is 400 `use_dpop_nonce`, and every answer to a DPoP request carries a fresh
//! `DPoP-Nonce` ([`with_dpop_nonce`]).

use std::collections::HashMap;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::client_assertion;
use super::dpop::{self, Expected, ProofError};
use super::oauth_error::{no_store, OAuthError};
use super::scopes::{Context, Scopes};
use super::tokens::{issue, NewToken};
use crate::fhir::AppState;

/// SMART recommends five minutes for backend services tokens.
pub const BACKEND_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// The request header that carries a DPoP proof, and the response header of a nonce.
const DPOP: &str = "dpop";
const DPOP_NONCE: &str = "dpop-nonce";

/// Issues a backend services token (SMART Backend Services: client credentials with a
/// signed client assertion), bound to the key of the request's DPoP proof if it has one.
pub async fn grant(
    state: &AppState,
    headers: &HeaderMap,
    fields: &HashMap<String, String>,
) -> Result<Response, OAuthError> {
    let token_url = state.config.auth_url("token");
    // The proof comes first: a client told to use a nonce keeps its assertion unspent.
    let jkt = match dpop_proof(headers)? {
        Some(proof) => Some(bind(state, proof, &token_url).await?),
        None => None,
    };
    let client = client_assertion::authenticate(
        &state.store,
        &token_url,
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
            jkt: jkt.as_deref(),
        },
    )
    .await
    .map_err(OAuthError::server_error)?;
    super::grant_log::log_grant(state, &tenant.id, &client.client_id, None, &granted, None).await?;
    let body = json!({
        "access_token": access_token,
        "token_type": if jkt.is_some() { "DPoP" } else { "Bearer" },
        "expires_in": BACKEND_TOKEN_LIFETIME.as_secs(),
        "scope": granted.to_scope_string(),
    });
    Ok(no_store((StatusCode::OK, axum::Json(body)).into_response()))
}

/// The request's DPoP proof, if it sent one; more than one is malformed (RFC 9449 §4.3).
fn dpop_proof(headers: &HeaderMap) -> Result<Option<&str>, OAuthError> {
    let mut proofs = headers.get_all(DPOP).iter();
    let Some(proof) = proofs.next() else {
        return Ok(None);
    };
    if proofs.next().is_some() {
        return Err(invalid_proof("more than one DPoP header"));
    }
    proof
        .to_str()
        .map(Some)
        .map_err(|_| invalid_proof("the DPoP header is not text"))
}

/// Checks a proof made for this token endpoint (no `ath`, a nonce of ours) and returns the
/// thumbprint of its key.
async fn bind(state: &AppState, proof: &str, token_url: &str) -> Result<String, OAuthError> {
    let expected = Expected {
        method: "POST",
        url: token_url,
        access_token: None,
        nonce_scope: Some(token_url),
    };
    match dpop::verify(&state.store, proof, &expected).await {
        Ok(jkt) => Ok(jkt),
        Err(ProofError::UseNonce) => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "use_dpop_nonce",
            "Authorization server requires nonce in DPoP proof",
        )),
        Err(ProofError::Invalid(why)) => Err(invalid_proof(&why)),
        Err(ProofError::Store(e)) => Err(OAuthError::server_error(e)),
    }
}

fn invalid_proof(why: &str) -> OAuthError {
    tracing::info!(reason = %why, "DPoP proof refused at the token endpoint");
    OAuthError::new(
        StatusCode::BAD_REQUEST,
        "invalid_dpop_proof",
        format!("the DPoP proof is invalid: {why}"),
    )
}

/// Adds a fresh `DPoP-Nonce` to the token endpoint's `response` when the request carried a
/// DPoP proof, whatever the outcome (RFC 9449 §8).
pub fn with_dpop_nonce(state: &AppState, headers: &HeaderMap, mut response: Response) -> Response {
    if !headers.contains_key(DPOP) {
        return response;
    }
    let nonce = dpop::new_nonce(&state.config.auth_url("token"))
        .and_then(|n| HeaderValue::from_str(&n).ok());
    match nonce {
        Some(nonce) => {
            response.headers_mut().insert(DPOP_NONCE, nonce);
        }
        None => tracing::error!("no DPoP nonce could be made: the random source failed"),
    }
    response
}
