//! DPoP (RFC 9449): a token bound to a key (`cnf.jkt`) is honoured only with a fresh proof,
//! signed by that key, for this request's method and URL and this token. The token endpoint
//! checks proofs with the same verifier (without `ath`, with a server nonce) before it binds a
//! token to the proof's key.
//!
//! Server nonces are stateless: `timestamp.mac`, an HMAC-SHA256 over the endpoint's URL and the
//! timestamp with a key made when the process starts. A restart (or another process) makes
//! earlier nonces unknown; the client is then told to use a fresh one and retries.

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use ring::digest::{digest, SHA256};
use ring::hmac;
use ring::rand::SystemRandom;
use serde::Deserialize;
use serde_json::json;

use super::tokens::TokenError;
use crate::store::{now_micros, Store, StoreError};

/// How old (or, with clock skew, how far ahead) a proof's `iat` may be.
const WINDOW_SECS: i64 = 300;
const SKEW_SECS: i64 = 30;

/// How long a server nonce stays good.
pub const NONCE_LIFETIME_SECS: i64 = 300;

/// The proof algorithms accepted (advertised as `dpop_signing_alg_values_supported`).
pub const ALGORITHMS: [Algorithm; 5] = [
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::EdDSA,
];

/// The names of [`ALGORITHMS`], for discovery documents.
pub const ALGORITHM_NAMES: [&str; 5] = ["ES256", "ES384", "RS256", "PS256", "EdDSA"];

#[derive(Deserialize)]
struct ProofClaims {
    jti: String,
    htm: String,
    htu: String,
    iat: i64,
    ath: Option<String>,
    nonce: Option<String>,
}

/// The request a proof must be made for (a resource request, with its access token).
pub struct ProofTarget<'a> {
    pub method: &'a str,
    /// The request's URL without query and fragment.
    pub url: &'a str,
    pub access_token: &'a str,
}

/// What a proof must show, at a resource server or at the token endpoint.
pub struct Expected<'a> {
    pub method: &'a str,
    /// The request's URL without query and fragment.
    pub url: &'a str,
    /// The access token the proof must name in `ath` (a resource request); `None` at the
    /// token endpoint, where there is no token yet and `ath` is not checked.
    pub access_token: Option<&'a str>,
    /// When set, the proof must carry a nonce this server issued for this scope (the
    /// endpoint's URL) within [`NONCE_LIFETIME_SECS`].
    pub nonce_scope: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    /// The proof cannot be honoured; the reason is for the log (and, at the token
    /// endpoint, for the client: it names no secret).
    #[error("DPoP proof: {0}")]
    Invalid(String),
    /// The proof has no nonce, or one this server did not issue recently: the client is to
    /// retry with the fresh nonce it is given.
    #[error("DPoP proof: a fresh server nonce is required")]
    UseNonce,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ProofError> for TokenError {
    fn from(e: ProofError) -> Self {
        match e {
            ProofError::Invalid(why) => TokenError::Invalid(format!("DPoP proof: {why}")),
            ProofError::UseNonce => TokenError::Invalid("DPoP proof without a valid nonce".into()),
            ProofError::Store(e) => TokenError::Store(e),
        }
    }
}

/// A proof whose signature and claims passed; its `jti` is not yet used up.
#[derive(Debug)]
pub struct CheckedProof {
    /// The RFC 7638 thumbprint of the key that signed it.
    pub jkt: String,
    pub jti: String,
    pub iat: i64,
}

/// Verifies a resource request's `proof` and returns the thumbprint of the key that signed
/// it.
pub async fn verify_proof(
    store: &Store,
    proof: &str,
    target: &ProofTarget<'_>,
) -> Result<String, TokenError> {
    let expected = Expected {
        method: target.method,
        url: target.url,
        access_token: Some(target.access_token),
        nonce_scope: None,
    };
    Ok(verify(store, proof, &expected).await?)
}

/// Verifies `proof` against `expected`, uses up its `jti`, and returns the thumbprint of the
/// key that signed it.
pub async fn verify(
    store: &Store,
    proof: &str,
    expected: &Expected<'_>,
) -> Result<String, ProofError> {
    let checked = check(proof, expected, now_micros() / 1_000_000)?;
    if !store
        .use_dpop_proof(&checked.jti, checked.iat + WINDOW_SECS)
        .await?
    {
        return Err(ProofError::Invalid("replayed".into()));
    }
    Ok(checked.jkt)
}

/// Every check but the replay check, at `now` (seconds since the epoch).
pub fn check(proof: &str, expected: &Expected<'_>, now: i64) -> Result<CheckedProof, ProofError> {
    let invalid = |why: &str| ProofError::Invalid(why.to_string());
    let header = decode_header(proof).map_err(|_| invalid("not a JWT"))?;
    if header.typ.as_deref() != Some("dpop+jwt") {
        return Err(invalid("typ is not dpop+jwt"));
    }
    if !ALGORITHMS.contains(&header.alg) {
        return Err(invalid("algorithm refused"));
    }
    let jwk = header.jwk.ok_or_else(|| invalid("no jwk"))?;
    if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
        return Err(invalid("a symmetric jwk"));
    }
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| invalid("unusable jwk"))?;
    let mut validation = Validation::new(header.alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let claims = decode::<ProofClaims>(proof, &key, &validation)
        .map_err(|e| ProofError::Invalid(format!("refused: {e}")))?
        .claims;
    if !claims.htm.eq_ignore_ascii_case(expected.method) {
        return Err(invalid("htm is not this request's method"));
    }
    if claims.htu.split(['?', '#']).next() != Some(expected.url) {
        return Err(invalid("htu is not this request's URL"));
    }
    if claims.iat < now - WINDOW_SECS || claims.iat > now + SKEW_SECS {
        return Err(invalid("iat outside the window"));
    }
    if claims.jti.is_empty() {
        return Err(invalid("empty jti"));
    }
    if let Some(token) = expected.access_token {
        let ath = URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes()));
        if claims.ath.as_deref() != Some(ath.as_str()) {
            return Err(invalid("ath does not match the access token"));
        }
    }
    if let Some(scope) = expected.nonce_scope {
        let fresh = claims
            .nonce
            .as_deref()
            .is_some_and(|n| nonce_is_fresh(scope, n, now));
        if !fresh {
            return Err(ProofError::UseNonce);
        }
    }
    let jkt = thumbprint(&jwk).ok_or_else(|| invalid("key type without a thumbprint"))?;
    Ok(CheckedProof {
        jkt,
        jti: claims.jti,
        iat: claims.iat,
    })
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

static NONCE_KEY: OnceLock<Option<hmac::Key>> = OnceLock::new();

/// Derives the nonce key from the master key, so that every instance sharing a database
/// (and so a master key) accepts the nonces the others issue. Called once at start; a
/// process that never calls it (a test of this module alone) uses a random key.
pub fn derive_nonce_key(master: &[u8]) {
    let master = hmac::Key::new(hmac::HMAC_SHA256, master);
    let derived = hmac::sign(&master, b"helsebro dpop-nonce key v1");
    let _ = NONCE_KEY.set(Some(hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref())));
}

/// The nonce key; `None` when the random source failed.
fn nonce_key() -> Option<&'static hmac::Key> {
    NONCE_KEY
        .get_or_init(|| hmac::Key::generate(hmac::HMAC_SHA256, &SystemRandom::new()).ok())
        .as_ref()
}

fn nonce_message(scope: &str, timestamp: &str) -> String {
    format!("dpop-nonce\n{scope}\n{timestamp}")
}

/// A fresh server nonce for `scope` (the URL of the endpoint that asks for nonces); `None`
/// only when the random source failed.
pub fn new_nonce(scope: &str) -> Option<String> {
    nonce_at(scope, now_micros() / 1_000_000)
}

fn nonce_at(scope: &str, timestamp: i64) -> Option<String> {
    let key = nonce_key()?;
    let timestamp = timestamp.to_string();
    let mac = hmac::sign(key, nonce_message(scope, &timestamp).as_bytes());
    Some(format!("{timestamp}.{}", URL_SAFE_NO_PAD.encode(mac)))
}

/// Whether `nonce` is one this process issued for `scope` within the nonce lifetime.
pub fn nonce_is_fresh(scope: &str, nonce: &str, now: i64) -> bool {
    let Some(key) = nonce_key() else {
        return false;
    };
    let Some((timestamp, mac)) = nonce.split_once('.') else {
        return false;
    };
    if timestamp.is_empty() || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Ok(issued) = timestamp.parse::<i64>() else {
        return false;
    };
    let Ok(mac) = URL_SAFE_NO_PAD.decode(mac) else {
        return false;
    };
    if hmac::verify(key, nonce_message(scope, timestamp).as_bytes(), &mac).is_err() {
        return false;
    }
    issued <= now + SKEW_SECS && now - issued <= NONCE_LIFETIME_SECS
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use serde_json::Value;

    const URL: &str = "https://fhir.example/auth/token";

    struct Key {
        pkcs8: Vec<u8>,
        jwk: Value,
    }

    fn key() -> Key {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let point = pair.public_key().as_ref();
        Key {
            pkcs8: pkcs8.as_ref().to_vec(),
            jwk: json!({
                "kty": "EC", "crv": "P-256",
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
            }),
        }
    }

    fn now() -> i64 {
        now_micros() / 1_000_000
    }

    fn sign(key: &Key, typ: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some(typ.into());
        header.jwk = Some(serde_json::from_value(key.jwk.clone()).unwrap());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(&key.pkcs8)).unwrap()
    }

    fn at_token_endpoint() -> Expected<'static> {
        Expected {
            method: "POST",
            url: URL,
            access_token: None,
            nonce_scope: Some(URL),
        }
    }

    fn ath(token: &str) -> String {
        URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes()))
    }

    #[test]
    fn the_advertised_names_are_the_accepted_algorithms() {
        let names: Vec<Value> = ALGORITHMS
            .iter()
            .map(|a| serde_json::to_value(a).unwrap())
            .collect();
        assert_eq!(names, ALGORITHM_NAMES.map(Value::from).to_vec());
    }

    #[test]
    fn nonces_are_good_for_their_scope_and_lifetime_only() {
        let t = now();
        let nonce = nonce_at(URL, t).unwrap();
        assert!(nonce_is_fresh(URL, &nonce, t));
        assert!(nonce_is_fresh(URL, &nonce, t + NONCE_LIFETIME_SECS));
        assert!(!nonce_is_fresh(URL, &nonce, t + NONCE_LIFETIME_SECS + 1));
        assert!(!nonce_is_fresh(
            "https://other.example/auth/token",
            &nonce,
            t
        ));
        // A changed timestamp or MAC, and things that are no nonce at all.
        let (_, mac) = nonce.split_once('.').unwrap();
        assert!(!nonce_is_fresh(URL, &format!("{}.{mac}", t + 1), t));
        assert!(!nonce_is_fresh(URL, &format!("+{t}.{mac}"), t));
        let mut forged = nonce.clone();
        forged.pop();
        forged.push(if nonce.ends_with('A') { 'B' } else { 'A' });
        assert!(!nonce_is_fresh(URL, &forged, t));
        for junk in ["", ".", "abc", "123", "123.", ".abc", "x.y"] {
            assert!(!nonce_is_fresh(URL, junk, t), "{junk:?}");
        }
        // One made in the future (beyond the skew) is not honoured either.
        let ahead = nonce_at(URL, t + 3600).unwrap();
        assert!(!nonce_is_fresh(URL, &ahead, t));
        assert!(new_nonce(URL).is_some_and(|n| nonce_is_fresh(URL, &n, now())));
    }

    #[test]
    fn the_token_endpoint_wants_a_nonce_and_no_ath() {
        let k = key();
        let claims = json!({"jti": "a", "htm": "POST", "htu": URL, "iat": now()});
        let proof = sign(&k, "dpop+jwt", &claims);
        assert!(matches!(
            check(&proof, &at_token_endpoint(), now()),
            Err(ProofError::UseNonce)
        ));
        let with_stale = json!({"jti": "b", "htm": "POST", "htu": URL, "iat": now(),
                                "nonce": nonce_at(URL, now() - 600).unwrap()});
        assert!(matches!(
            check(
                &sign(&k, "dpop+jwt", &with_stale),
                &at_token_endpoint(),
                now()
            ),
            Err(ProofError::UseNonce)
        ));
        let good = json!({"jti": "c", "htm": "POST", "htu": URL, "iat": now(),
                          "nonce": new_nonce(URL).unwrap()});
        let checked = check(&sign(&k, "dpop+jwt", &good), &at_token_endpoint(), now()).unwrap();
        let jwk: Jwk = serde_json::from_value(k.jwk.clone()).unwrap();
        assert_eq!(checked.jkt, thumbprint(&jwk).unwrap());
        assert_eq!(checked.jti, "c");
    }

    #[test]
    fn a_resource_request_needs_the_tokens_ath_but_no_nonce() {
        let k = key();
        let url = "https://fhir.example/fhir/Patient";
        let expected = Expected {
            method: "GET",
            url,
            access_token: Some("the-token"),
            nonce_scope: None,
        };
        let good = json!({"jti": "a", "htm": "GET", "htu": format!("{url}?name=x"),
                          "iat": now(), "ath": ath("the-token")});
        assert!(check(&sign(&k, "dpop+jwt", &good), &expected, now()).is_ok());
        let refused = [
            (
                "no ath",
                json!({"jti": "b", "htm": "GET", "htu": url, "iat": now()}),
            ),
            (
                "another token",
                json!({"jti": "c", "htm": "GET", "htu": url, "iat": now(), "ath": ath("other")}),
            ),
            (
                "another method",
                json!({"jti": "d", "htm": "POST", "htu": url, "iat": now(), "ath": ath("the-token")}),
            ),
            (
                "another URL",
                json!({"jti": "e", "htm": "GET", "htu": URL, "iat": now(), "ath": ath("the-token")}),
            ),
            (
                "too old",
                json!({"jti": "f", "htm": "GET", "htu": url, "iat": now() - 3600,
                       "ath": ath("the-token")}),
            ),
            (
                "from the future",
                json!({"jti": "g", "htm": "GET", "htu": url, "iat": now() + 3600,
                       "ath": ath("the-token")}),
            ),
        ];
        for (why, claims) in refused {
            assert!(
                matches!(
                    check(&sign(&k, "dpop+jwt", &claims), &expected, now()),
                    Err(ProofError::Invalid(_))
                ),
                "{why}"
            );
        }
        // Not typed as a proof.
        assert!(check(&sign(&k, "JWT", &good), &expected, now()).is_err());
    }

    #[test]
    fn a_proof_signed_by_another_key_than_its_jwk_fails() {
        let (k, other) = (key(), key());
        let claims = json!({"jti": "a", "htm": "POST", "htu": URL, "iat": now(),
                            "nonce": new_nonce(URL).unwrap()});
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(serde_json::from_value(other.jwk.clone()).unwrap());
        let proof =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_der(&k.pkcs8)).unwrap();
        assert!(matches!(
            check(&proof, &at_token_endpoint(), now()),
            Err(ProofError::Invalid(_))
        ));
        // HMAC with a key of its own choosing is refused whatever it signs.
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some("dpop+jwt".into());
        let hs = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(b"s")).unwrap();
        assert!(check(&hs, &at_token_endpoint(), now()).is_err());
    }
}
