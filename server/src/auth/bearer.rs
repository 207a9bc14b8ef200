//! Which verifier a bearer token goes to: this server's own tokens, or a trusted external
//! issuer's. A token of any other issuer is refused.

use super::access::Access;
use super::external;
use super::tokens::{self, TokenError};
use crate::fhir::AppState;

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
