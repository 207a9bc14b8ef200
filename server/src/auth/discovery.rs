//! `GET /fhir/.well-known/smart-configuration`: what this authorization server supports,
//! listing only what is implemented.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::fhir::AppState;

pub async fn smart_configuration(State(state): State<AppState>) -> Response {
    let c = &state.config;
    axum::Json(json!({
        "issuer": c.base_url,
        "jwks_uri": format!("{}/.well-known/jwks.json", c.origin()),
        "token_endpoint": c.auth_url("token"),
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "grant_types_supported": ["client_credentials"],
        "introspection_endpoint": c.auth_url("introspect"),
        "revocation_endpoint": c.auth_url("revoke"),
        "scopes_supported": ["system/*.cruds", "system/*.rs", "system/*.read", "system/*.write"],
        "capabilities": ["client-confidential-asymmetric", "permission-v1", "permission-v2"],
        "code_challenge_methods_supported": ["S256"],
    }))
    .into_response()
}
