//! DPoP (RFC 9449): a token bound to a key (`cnf.jkt`) is honoured only with a fresh proof,
//! signed by that key, for this request's method and URL and this token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use ring::digest::{digest, SHA256};
use serde::Deserialize;
use serde_json::json;

use super::tokens::TokenError;
use crate::store::{now_micros, Store};

/// How old (or, with clock skew, how far ahead) a proof's `iat` may be.
const WINDOW_SECS: i64 = 300;
const SKEW_SECS: i64 = 30;

const ALGORITHMS: [Algorithm; 5] = [
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::EdDSA,
];

#[derive(Deserialize)]
struct ProofClaims {
    jti: String,
    htm: String,
    htu: String,
    iat: i64,
    ath: Option<String>,
}

/// The request a proof must be made for.
pub struct ProofTarget<'a> {
    pub method: &'a str,
    /// The request's URL without query and fragment.
    pub url: &'a str,
    pub access_token: &'a str,
}

/// Verifies `proof` and returns the thumbprint of the key that signed it.
pub async fn verify_proof(
    store: &Store,
    proof: &str,
    target: &ProofTarget<'_>,
) -> Result<String, TokenError> {
    let invalid = |why: &str| TokenError::Invalid(format!("DPoP proof: {why}"));
    let header = decode_header(proof).map_err(|_| invalid("not a JWT"))?;
    if header.typ.as_deref() != Some("dpop+jwt") {
        return Err(invalid("typ is not dpop+jwt"));
    }
    if !ALGORITHMS.contains(&header.alg) {
        return Err(invalid("algorithm refused"));
    }
    let jwk = header.jwk.ok_or_else(|| invalid("no jwk"))?;
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| invalid("unusable jwk"))?;
    let mut validation = Validation::new(header.alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let claims = decode::<ProofClaims>(proof, &key, &validation)
        .map_err(|e| TokenError::Invalid(format!("DPoP proof refused: {e}")))?
        .claims;
    if !claims.htm.eq_ignore_ascii_case(target.method) {
        return Err(invalid("htm is not this request's method"));
    }
    if claims.htu.split(['?', '#']).next() != Some(target.url) {
        return Err(invalid("htu is not this request's URL"));
    }
    let now = now_micros() / 1_000_000;
    if claims.iat < now - WINDOW_SECS || claims.iat > now + SKEW_SECS {
        return Err(invalid("iat outside the window"));
    }
    let ath = URL_SAFE_NO_PAD.encode(digest(&SHA256, target.access_token.as_bytes()));
    if claims.ath.as_deref() != Some(ath.as_str()) {
        return Err(invalid("ath does not match the access token"));
    }
    if !store
        .use_dpop_proof(&claims.jti, claims.iat + WINDOW_SECS)
        .await?
    {
        return Err(invalid("replayed"));
    }
    thumbprint(&jwk).ok_or_else(|| invalid("key type without a thumbprint"))
}

/// The JWK SHA-256 thumbprint (RFC 7638): the required members, in order, hashed.
pub fn thumbprint(jwk: &Jwk) -> Option<String> {
    let canonical = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(ec) => {
            let crv = serde_json::to_value(&ec.curve).ok()?;
            json!({"crv": crv, "kty": "EC", "x": ec.x, "y": ec.y}).to_string()
        }
        AlgorithmParameters::RSA(rsa) => json!({"e": rsa.e, "kty": "RSA", "n": rsa.n}).to_string(),
        AlgorithmParameters::OctetKeyPair(okp) => {
            let crv = serde_json::to_value(&okp.curve).ok()?;
            json!({"crv": crv, "kty": "OKP", "x": okp.x}).to_string()
        }
        AlgorithmParameters::OctetKey(_) => return None,
    };
    Some(URL_SAFE_NO_PAD.encode(digest(&SHA256, canonical.as_bytes())))
}
