//! Who is calling the token endpoint with a code or refresh token: each client must
//! authenticate the way it registered (RFC 6749 §2.3): a public app by naming itself,
//! a confidential one by its secret (HTTP Basic, or in the form), an asymmetric one by a
//! signed assertion. A confidential client that only names itself is refused.
//!
//! A public app may leave out its client_id when refreshing (fhirclient does): the refresh
//! token implies the client, which must then be public.

use std::collections::HashMap;

use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::client_assertion;
use super::oauth_error::OAuthError;
use super::secrets::{hash, same};
use crate::fhir::AppState;
use crate::store::clients::{Client, ClientAuthentication};

pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    fields: &HashMap<String, String>,
    implied: Option<&str>,
) -> Result<Client, OAuthError> {
    let named = fields.get("client_id").map(String::as_str);
    let public_id = named.or(implied);
    let basic = basic_credentials(headers)?;
    let client = if fields.contains_key("client_assertion_type") {
        client_assertion::authenticate(
            &state.store,
            &state.config.auth_url("token"),
            fields.get("client_assertion_type").map(String::as_str),
            fields.get("client_assertion").map(String::as_str),
        )
        .await?
    } else if let Some((id, secret)) = basic {
        with_secret(state, &id, &secret).await?
    } else if let (Some(id), Some(secret)) = (named, fields.get("client_secret")) {
        with_secret(state, id, secret).await?
    } else if let Some(id) = public_id {
        let client = lookup(state, id).await?;
        if client.authentication() != ClientAuthentication::None {
            return Err(OAuthError::invalid_client(
                "a confidential client sent no credentials",
            ));
        }
        client
    } else {
        return Err(OAuthError::invalid_client("no client authentication"));
    };
    if named.is_some_and(|id| id != client.client_id) {
        return Err(OAuthError::invalid_client(
            "client_id differs from the authenticated client",
        ));
    }
    Ok(client)
}

async fn lookup(state: &AppState, client_id: &str) -> Result<Client, OAuthError> {
    state
        .store
        .client(client_id)
        .await
        .map_err(OAuthError::server_error)?
        .ok_or_else(|| OAuthError::invalid_client("unknown client"))
}

async fn with_secret(
    state: &AppState,
    client_id: &str,
    secret: &str,
) -> Result<Client, OAuthError> {
    let client = lookup(state, client_id).await?;
    match &client.secret_hash {
        Some(stored) if same(&hash(secret), stored) => Ok(client),
        Some(_) => Err(OAuthError::invalid_client("wrong client secret")),
        None => Err(OAuthError::invalid_client("the client has no secret")),
    }
}

/// `Authorization: Basic` credentials, form-urlencoded inside as RFC 6749 §2.3.1 says.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
    let unescape = |s: &str| -> String {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((unescape(id), unescape(secret))))
}
