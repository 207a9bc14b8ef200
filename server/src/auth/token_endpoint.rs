//! `POST /auth/token`: reads the form and hands it to the grant it names.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::oauth_error::OAuthError;
use super::{client_credentials, code_grant, refresh_grant};
use crate::fhir::AppState;

pub async fn handle(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let response = answer(&state, &headers, &body).await;
    client_credentials::with_dpop_nonce(&state, &headers, response)
}

async fn answer(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Response {
    match token(state, headers, body).await {
        Ok(r) => r,
        Err(e) => {
            // A refused grant is logged too. The client is not known for sure, so the row
            // belongs to no tenant and names only the error.
            let refused = crate::audit::record(
                &crate::audit::Agent::default(),
                "login",
                "login",
                if e.status.is_server_error() { "8" } else { "4" },
                Some(e.error.to_string()),
                None,
                None,
            );
            if let Err(log_error) = state.audit.append(refused).await {
                return OAuthError::server_error(log_error).into_response();
            }
            e.into_response()
        }
    }
}

/// The form fields of an OAuth request; a repeated field is a malformed request.
pub fn form(headers: &HeaderMap, body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let mut fields = HashMap::new();
    for (k, v) in form_urlencoded::parse(body).into_owned() {
        if fields.insert(k.clone(), v).is_some() {
            return Err(OAuthError::invalid_request(format!("{k} is given twice")));
        }
    }
    Ok(fields)
}

async fn token(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let fields = form(headers, body)?;
    match fields.get("grant_type").map(String::as_str) {
        Some("client_credentials") => client_credentials::grant(state, headers, &fields).await,
        Some("authorization_code") => code_grant::grant(state, headers, &fields).await,
        Some("refresh_token") => refresh_grant::grant(state, headers, &fields).await,
        Some(other) => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("grant_type '{other}' is not supported"),
        )),
        None => Err(OAuthError::invalid_request("grant_type is missing")),
    }
}
