//! Which verifier a token goes to: this server's own tokens, or a trusted external
//! issuer's (a token of any other issuer is refused); and, for a DPoP-bound token, the
//! proof of possession.

use axum::http::header;
use axum::http::request::Parts;

use super::access::Access;
use super::dpop::{self, ProofTarget};
use super::external;
use super::tokens::{self, Scheme, TokenError};
use crate::fhir::AppState;

/// The access a request's `Authorization` (and `DPoP`) headers give.
pub async fn authorize_request(state: &AppState, parts: &Parts) -> Result<Access, TokenError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let (scheme, token) = tokens::authorization(value)?;
    let access = authenticate(state, token).await?;
    match (scheme, &access.bound_to) {
        (Scheme::Bearer, None) => Ok(access),
        // A bound token used as a bearer token is a stolen token (RFC 9449 §7.2).
        (Scheme::Bearer, Some(_)) => Err(TokenError::Invalid(
            "DPoP-bound token sent as Bearer".into(),
        )),
        (Scheme::DPoP, None) => Err(TokenError::Invalid(
            "DPoP scheme for an unbound token".into(),
        )),
        (Scheme::DPoP, Some(jkt)) => {
            let proof = parts
                .headers
                .get("dpop")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| TokenError::Invalid("no DPoP proof".into()))?;
            let path = parts
                .extensions
                .get::<axum::extract::OriginalUri>()
                .map_or(parts.uri.path(), |u| u.0.path());
            let url = format!("{}{path}", state.config.origin());
            let target = ProofTarget {
                method: parts.method.as_str(),
                url: &url,
                access_token: token,
            };
            let signer = dpop::verify_proof(&state.store, proof, &target).await?;
            if signer != *jkt {
                return Err(TokenError::Invalid(
                    "DPoP proof signed by another key".into(),
                ));
            }
            Ok(access)
        }
    }
}

pub async fn authenticate(state: &AppState, token: &str) -> Result<Access, TokenError> {
    let own = &state.config.base_url;
    match external::claimed_issuer(token) {
        Some(iss) if iss != *own => {
            let issuer = state
                .store
                .trusted_issuer(&iss)
                .await?
                .ok_or_else(|| TokenError::Invalid("issuer not trusted".into()))?;
            external::verify(&state.store, &state.issuer_keys, &issuer, token).await
        }
        _ => tokens::verify(&state.store, &state.keys, own, token).await,
    }
}
