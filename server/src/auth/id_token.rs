//! OpenID Connect id_tokens: RS256, as SMART requires, signed by the deployment's RSA key
//! and verifiable with the JWKS that OpenID discovery names.

use jsonwebtoken::{encode, Algorithm, Header};
use serde::Serialize;

use super::keys::{KeyError, KeyRing};
use crate::store::{now_micros, Store};

/// Lives as long as the access token issued with it.
pub const ID_TOKEN_LIFETIME_SECS: i64 = 3600;

#[derive(Serialize)]
struct IdTokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    #[serde(rename = "fhirUser", skip_serializing_if = "Option::is_none")]
    fhir_user: Option<&'a str>,
    /// The practitioner's HPR number under HelseID's claim name, so that a Helsebro can
    /// be another's upstream provider the way HelseID is.
    #[serde(
        rename = "helseid://claims/hpr/hpr_number",
        skip_serializing_if = "Option::is_none"
    )]
    hpr_number: Option<&'a str>,
}

pub struct IdTokenFor<'a> {
    /// This server's OpenID issuer (its origin).
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// `Practitioner/ID` or `Patient/ID`: stable, and short enough for `sub`.
    pub subject: &'a str,
    /// The absolute URL of the user's resource, when the app asked for `fhirUser`.
    pub fhir_user: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub auth_time: Option<i64>,
    pub hpr_number: Option<&'a str>,
}

pub async fn sign(store: &Store, keys: &KeyRing, t: &IdTokenFor<'_>) -> Result<String, KeyError> {
    let key = keys.id_token_key(store).await?;
    let now = now_micros() / 1_000_000;
    let claims = IdTokenClaims {
        iss: t.issuer,
        sub: t.subject,
        aud: t.client_id,
        exp: now + ID_TOKEN_LIFETIME_SECS,
        iat: now,
        auth_time: t.auth_time,
        nonce: t.nonce,
        fhir_user: t.fhir_user,
        hpr_number: t.hpr_number,
    };
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid.clone());
    encode(&header, &claims, &key.encoding).map_err(|_| KeyError::Unusable(key.kid.clone()))
}
