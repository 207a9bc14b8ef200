//! What this authorization server supports, listing only what is implemented:
//! `GET /fhir/.well-known/smart-configuration` (SMART App Launch 2) and
//! `GET /.well-known/openid-configuration` (OpenID Connect Discovery, for id_tokens).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::dpop;
use crate::fhir::AppState;

const SCOPES: [&str; 14] = [
    "openid",
    "fhirUser",
    "launch",
    "launch/patient",
    "offline_access",
    "online_access",
    "patient/*.rs",
    "patient/*.cruds",
    "user/*.rs",
    "user/*.cruds",
    "system/*.rs",
    "system/*.cruds",
    "patient/*.read",
    "user/*.read",
];

pub async fn smart_configuration(State(state): State<AppState>) -> Response {
    let c = &state.config;
    axum::Json(json!({
        "issuer": c.origin(),
        "jwks_uri": format!("{}/.well-known/jwks.json", c.origin()),
        "authorization_endpoint": c.auth_url("authorize"),
        "token_endpoint": c.auth_url("token"),
        "token_endpoint_auth_methods_supported":
            ["private_key_jwt", "client_secret_basic", "client_secret_post", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "response_types_supported": ["code"],
        "introspection_endpoint": c.auth_url("introspect"),
        "revocation_endpoint": c.auth_url("revoke"),
        "scopes_supported": SCOPES,
        "capabilities": [
            "launch-ehr",
            "launch-standalone",
            "authorize-post",
            "client-public",
            "client-confidential-symmetric",
            "client-confidential-asymmetric",
            "sso-openid-connect",
            "context-passthrough-banner",
            "context-ehr-patient",
            "context-standalone-patient",
            "permission-offline",
            "permission-online",
            "permission-patient",
            "permission-user",
            "permission-v1",
            "permission-v2"
        ],
        "code_challenge_methods_supported": ["S256"],
        "dpop_signing_alg_values_supported": dpop::ALGORITHM_NAMES,
    }))
    .into_response()
}

pub async fn openid_configuration(State(state): State<AppState>) -> Response {
    let c = &state.config;
    axum::Json(json!({
        "issuer": c.origin(),
        "authorization_endpoint": c.auth_url("authorize"),
        "token_endpoint": c.auth_url("token"),
        "jwks_uri": format!("{}/.well-known/jwks.json", c.origin()),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "fhirUser", "offline_access", "online_access"],
        "claims_supported":
            ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "fhirUser",
             "helseid://claims/hpr/hpr_number"],
        "token_endpoint_auth_methods_supported":
            ["private_key_jwt", "client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "dpop_signing_alg_values_supported": dpop::ALGORITHM_NAMES,
    }))
    .into_response()
}
