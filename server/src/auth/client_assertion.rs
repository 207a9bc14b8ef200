//! Client authentication by a signed JWT (`private_key_jwt`, RFC 7523), as SMART backend
//! services and asymmetric apps use it.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::oauth_error::OAuthError;
use crate::store::clients::Client;
use crate::store::{now_micros, Store};

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The algorithms SMART names for client assertions.
const ALGORITHMS: [Algorithm; 2] = [Algorithm::RS384, Algorithm::ES384];

/// An assertion may not claim to live longer than this.
const MAX_LIFETIME_SECS: i64 = 300;

#[derive(Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    exp: i64,
    jti: String,
}

/// Authenticates the client behind `assertion`, whose audience must be `token_url`.
pub async fn authenticate(
    store: &Store,
    token_url: &str,
    assertion_type: Option<&str>,
    assertion: Option<&str>,
) -> Result<Client, OAuthError> {
    match assertion_type {
        Some(JWT_BEARER) => {}
        Some(other) => {
            return Err(OAuthError::invalid_request(format!(
                "client_assertion_type '{other}' is not supported; use {JWT_BEARER}"
            )))
        }
        None => {
            return Err(OAuthError::invalid_client(
                "no client_assertion_type: this server authenticates clients by private_key_jwt",
            ))
        }
    }
    let assertion =
        assertion.ok_or_else(|| OAuthError::invalid_request("client_assertion is missing"))?;
    let header = decode_header(assertion)
        .map_err(|_| OAuthError::invalid_client("assertion is not a JWT"))?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(OAuthError::invalid_client(format!(
            "algorithm {:?} refused",
            header.alg
        )));
    }
    let kid = header
        .kid
        .ok_or_else(|| OAuthError::invalid_client("assertion has no kid"))?;
    // The issuer names the client whose keys verify the signature; nothing else is
    // trusted before that.
    let client_id = super::external::claimed_issuer(assertion)
        .ok_or_else(|| OAuthError::invalid_client("no iss"))?;
    let client = store
        .client(&client_id)
        .await
        .map_err(OAuthError::server_error)?
        .ok_or_else(|| OAuthError::invalid_client("unknown client"))?;
    let jwks = client_keys(&client).await?;
    let jwk = jwks
        .find(&kid)
        .ok_or_else(|| OAuthError::invalid_client("kid not among the client's keys"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| OAuthError::invalid_client("unusable JWK"))?;
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[token_url]);
    validation.set_issuer(&[client_id.as_str()]);
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub", "jti"]);
    validation.leeway = 30;
    let claims = decode::<AssertionClaims>(assertion, &key, &validation)
        .map_err(|e| OAuthError::invalid_client(format!("assertion refused: {e}")))?
        .claims;
    if claims.sub != claims.iss {
        return Err(OAuthError::invalid_client("sub differs from iss"));
    }
    let now = now_micros() / 1_000_000;
    if claims.exp > now + MAX_LIFETIME_SECS + 30 {
        return Err(OAuthError::invalid_client(
            "assertion lives longer than 5 minutes",
        ));
    }
    let fresh = store
        .use_client_assertion(&client.client_id, &claims.jti, claims.exp)
        .await
        .map_err(OAuthError::server_error)?;
    if !fresh {
        return Err(OAuthError::invalid_client("assertion jti replayed"));
    }
    Ok(client)
}

async fn client_keys(client: &Client) -> Result<JwkSet, OAuthError> {
    match (&client.jwks, &client.jwks_uri) {
        (Some(jwks), _) => serde_json::from_str(jwks)
            .map_err(|_| OAuthError::invalid_client("client JWKS unreadable")),
        (None, Some(uri)) => super::external::fetch_jwks(uri)
            .await
            .map_err(|e| OAuthError::invalid_client(format!("JWKS at {uri}: {e}"))),
        (None, None) => Err(OAuthError::invalid_client("client has no keys")),
    }
}
