//! HelseID-style client authentication for outgoing deliveries: the client authenticates at
//! the token endpoint with `private_key_jwt` (a signed assertion, asymmetric algorithms only)
//! for the client credentials grant, and, when the receiver wants it, gets DPoP-bound tokens
//! (RFC 9449) and proves possession of its DPoP key on every API call.
//!
//! - The assertion: `iss` = `sub` = the client id, `aud` = the token endpoint URL, a unique
//!   `jti`, `iat`/`nbf` now and `exp` 60 s ahead, signed with the configured key (`kid`).
//! - The DPoP key: an ES256 key pair made when the client is made, never stored. Proofs are
//!   typed `dpop+jwt` and carry the public key (`jwk`); claims `jti`, `htm`, `htu`, `iat`,
//!   the last `nonce` the server gave (kept per token endpoint and per API origin), and at
//!   an API `ath` (the token's SHA-256).
//! - Tokens are cached until 30 s before they expire; one token request at a time.
//!
//! Nothing secret (keys, assertions, tokens) and no URL query (which may name a patient)
//! reaches an error message or the log.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::Algorithm;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use ring::digest::{digest, SHA256};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaEncoding, RsaKeyPair};
use serde::Deserialize;
use serde_json::{json, Value};

/// The `client_assertion_type` of `private_key_jwt` (RFC 7523).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// HelseID accepts assertions that live at most 60 seconds.
const ASSERTION_LIFETIME_SECS: u64 = 60;

/// A cached token is renewed this long before it expires.
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(30);

const DPOP: &str = "DPoP";
const DPOP_NONCE: &str = "DPoP-Nonce";

#[derive(Clone)]
pub struct HelseIdConfig {
    pub token_url: String,
    pub client_id: String,
    pub scope: String,
    /// PKCS#8 PEM of the client's private key, RSA or EC P-384 / P-256.
    pub private_key_pem: String,
    /// Key id registered with the authorization server (JWKS `kid`).
    pub kid: String,
    /// RS384 for RSA keys, ES384 for P-384 (what the receiving Helsebro accepts).
    pub algorithm: jsonwebtoken::Algorithm,
    /// Whether the receiver wants DPoP-bound tokens.
    pub dpop: bool,
}

impl fmt::Debug for HelseIdConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HelseIdConfig")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .field("private_key_pem", &"<redacted>")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("dpop", &self.dpop)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HelseIdError {
    /// No connection. Worth a retry.
    #[error("could not reach the server: {0}")]
    Unreachable(String),
    /// Connected, but no answer in time. Worth a retry.
    #[error("no answer in time: {0}")]
    Timeout(String),
    /// The token endpoint refused with an OAuth error (`invalid_client`, `invalid_scope`,
    /// …), or answered with an HTTP error without one (`http_<status>`).
    #[error("the token endpoint refused: {error} (HTTP {status})")]
    Refused { status: u16, error: String },
    /// The configured client key cannot be used (format, algorithm, key type).
    #[error("the client key is unusable: {0}")]
    Key(String),
    /// Another configuration mistake, such as a URL that is no URL.
    #[error("the HelseID configuration is invalid: {0}")]
    Config(String),
    /// The token endpoint said yes in a way that cannot be read.
    #[error("the token endpoint's answer is unreadable: {0}")]
    Malformed(String),
}

impl HelseIdError {
    /// Whether trying again later may succeed.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Unreachable(_) | Self::Timeout(_) | Self::Malformed(_) => true,
            Self::Refused { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            Self::Key(_) | Self::Config(_) => false,
        }
    }

    /// A short machine code for the delivery register, e.g. `token:invalid_client`,
    /// `unreachable`.
    pub fn code(&self) -> String {
        match self {
            Self::Unreachable(_) => "unreachable".into(),
            Self::Timeout(_) => "timeout".into(),
            Self::Refused { error, .. } => format!("token:{}", code_safe(error)),
            Self::Key(_) => "key".into(),
            Self::Config(_) => "config".into(),
            Self::Malformed(_) => "token:malformed_response".into(),
        }
    }
}

/// An error code from another server, reduced to a short, harmless token.
fn code_safe(error: &str) -> String {
    let cleaned: String = error
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .take(64)
        .collect();
    if cleaned.is_empty() {
        "unknown".into()
    } else {
        cleaned
    }
}

/// The key client assertions are signed with.
enum Signer {
    Rsa {
        key: RsaKeyPair,
        padding: &'static dyn RsaEncoding,
    },
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl Signer {
    fn new(algorithm: Algorithm, pem: &str, rng: &SystemRandom) -> Result<Self, HelseIdError> {
        let (label, der) = pem_der(pem)?;
        let rsa = |padding: &'static dyn RsaEncoding| {
            let key = match label.as_str() {
                "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
                "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
                _ => return Err(wrong_key(algorithm, &label)),
            }
            .map_err(|e| {
                HelseIdError::Key(format!("not a usable RSA key for {algorithm:?}: {e}"))
            })?;
            Ok(Signer::Rsa { key, padding })
        };
        let ecdsa = |alg: &'static signature::EcdsaSigningAlgorithm| {
            if label != "PRIVATE KEY" {
                return Err(wrong_key(algorithm, &label));
            }
            EcdsaKeyPair::from_pkcs8(alg, &der, rng)
                .map(Signer::Ecdsa)
                .map_err(|e| {
                    HelseIdError::Key(format!("not a usable EC key for {algorithm:?}: {e}"))
                })
        };
        match algorithm {
            Algorithm::RS256 => rsa(&signature::RSA_PKCS1_SHA256),
            Algorithm::RS384 => rsa(&signature::RSA_PKCS1_SHA384),
            Algorithm::RS512 => rsa(&signature::RSA_PKCS1_SHA512),
            Algorithm::PS256 => rsa(&signature::RSA_PSS_SHA256),
            Algorithm::PS384 => rsa(&signature::RSA_PSS_SHA384),
            Algorithm::PS512 => rsa(&signature::RSA_PSS_SHA512),
            Algorithm::ES256 => ecdsa(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
            Algorithm::ES384 => ecdsa(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
            Algorithm::EdDSA => {
                if label != "PRIVATE KEY" {
                    return Err(wrong_key(algorithm, &label));
                }
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
                    .map(Signer::Ed25519)
                    .map_err(|e| HelseIdError::Key(format!("not a usable Ed25519 key: {e}")))
            }
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => Err(HelseIdError::Key(
                format!("{algorithm:?} is symmetric; client assertions are signed asymmetrically (RS384 or ES384)"),
            )),
        }
    }

    fn sign(&self, rng: &SystemRandom, message: &[u8]) -> Result<Vec<u8>, HelseIdError> {
        let failed = |_| HelseIdError::Key("signing the client assertion failed".into());
        match self {
            Signer::Rsa { key, padding } => {
                let mut out = vec![0; key.public().modulus_len()];
                key.sign(*padding, rng, message, &mut out).map_err(failed)?;
                Ok(out)
            }
            Signer::Ecdsa(key) => Ok(key.sign(rng, message).map_err(failed)?.as_ref().to_vec()),
            Signer::Ed25519(key) => Ok(key.sign(message).as_ref().to_vec()),
        }
    }
}

fn wrong_key(algorithm: Algorithm, label: &str) -> HelseIdError {
    HelseIdError::Key(format!(
        "a PEM '{label}' key cannot sign {algorithm:?}; give a PKCS#8 key (BEGIN PRIVATE KEY)"
    ))
}

/// The label and DER bytes of a PEM document.
fn pem_der(pem: &str) -> Result<(String, Vec<u8>), HelseIdError> {
    let mut lines = pem.lines().map(str::trim).filter(|l| !l.is_empty());
    let label = lines
        .next()
        .and_then(|l| l.strip_prefix("-----BEGIN "))
        .and_then(|l| l.strip_suffix("-----"))
        .ok_or_else(|| HelseIdError::Key("not a PEM document (no BEGIN line)".into()))?
        .to_string();
    if label == "ENCRYPTED PRIVATE KEY" {
        return Err(HelseIdError::Key(
            "an encrypted private key: give it unencrypted (PKCS#8)".into(),
        ));
    }
    let end = format!("-----END {label}-----");
    let mut body = String::new();
    let mut ended = false;
    for line in lines {
        if line == end {
            ended = true;
            break;
        }
        if line.contains(':') {
            return Err(HelseIdError::Key(
                "a PEM key with headers (encrypted?): give an unencrypted PKCS#8 key".into(),
            ));
        }
        body.push_str(line);
    }
    if !ended {
        return Err(HelseIdError::Key("the PEM document has no END line".into()));
    }
    let der = STANDARD
        .decode(body)
        .map_err(|_| HelseIdError::Key("the PEM body is not base64".into()))?;
    Ok((label, der))
}

fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
    }
}

/// The client's DPoP key: ES256 on P-256, made in memory.
struct DpopKey {
    pair: EcdsaKeyPair,
    jwk: Value,
}

impl DpopKey {
    fn generate(rng: &SystemRandom) -> Result<Self, HelseIdError> {
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let failed = || HelseIdError::Key("no DPoP key could be made".into());
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, rng).map_err(|_| failed())?;
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), rng).map_err(|_| failed())?;
        // The uncompressed point: 0x04, x, y.
        let point = pair.public_key().as_ref();
        if point.len() != 65 {
            return Err(HelseIdError::Key("unexpected DPoP public key".into()));
        }
        let jwk = json!({
            "kty": "EC",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        });
        Ok(DpopKey { pair, jwk })
    }
}

#[derive(Clone)]
struct CachedToken {
    access_token: String,
    /// Bound to the DPoP key: sent as `DPoP` with a proof.
    dpop: bool,
    /// When to stop using it and ask for a new one.
    renew_at: Instant,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    token_type: String,
    expires_in: Option<u64>,
}

/// Gets and caches tokens from one token endpoint, and sends API requests with them.
/// `Send + Sync`; share it through an `Arc`.
pub struct HelseIdClient {
    token_url: String,
    /// The token URL without query or fragment, as a proof's `htu`.
    token_htu: String,
    client_id: String,
    scope: String,
    kid: String,
    alg: &'static str,
    dpop: bool,
    signer: Signer,
    dpop_key: DpopKey,
    rng: SystemRandom,
    http: reqwest::Client,
    token: tokio::sync::Mutex<Option<CachedToken>>,
    /// The last `DPoP-Nonce` of the token endpoint and of each API origin.
    nonces: std::sync::Mutex<HashMap<String, String>>,
}

impl fmt::Debug for HelseIdClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HelseIdClient")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("dpop", &self.dpop)
            .finish_non_exhaustive()
    }
}

impl HelseIdClient {
    /// Checks the configuration, reads the client key and makes the DPoP key.
    pub fn new(config: HelseIdConfig, http: reqwest::Client) -> Result<Self, HelseIdError> {
        let token_htu = htu(&config.token_url)?;
        if config.client_id.is_empty() {
            return Err(HelseIdError::Config("the client id is empty".into()));
        }
        let rng = SystemRandom::new();
        let signer = Signer::new(config.algorithm, &config.private_key_pem, &rng)?;
        let dpop_key = DpopKey::generate(&rng)?;
        Ok(Self {
            token_url: config.token_url,
            token_htu,
            client_id: config.client_id,
            scope: config.scope,
            kid: config.kid,
            alg: algorithm_name(config.algorithm),
            dpop: config.dpop,
            signer,
            dpop_key,
            rng,
            http,
            token: tokio::sync::Mutex::new(None),
            nonces: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// Sends one API request: gets (or reuses) a token, adds Authorization (and a DPoP
    /// proof for `method` + `url` without query), and on a resource server's
    /// `use_dpop_nonce` 401 retries once with the nonce; on a 401 `invalid_token` drops the
    /// cached token and retries once with a fresh one. `build` adds the body and headers; it
    /// is called for every attempt, after `Authorization` and `DPoP` are set.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        build: &(dyn Fn(RequestBuilder) -> RequestBuilder + Send + Sync),
    ) -> Result<Response, HelseIdError> {
        let target =
            Url::parse(url).map_err(|_| HelseIdError::Config("the API URL is not a URL".into()))?;
        let target_htu = htu(url)?;
        let nonce_key = format!("api {}", target.origin().ascii_serialization());
        let mut token = self.token().await?;
        let mut retried_nonce = false;
        let mut retried_token = false;
        loop {
            let mut request = self.http.request(method.clone(), target.clone());
            if token.dpop {
                let nonce = self.nonce(&nonce_key);
                let proof = self.proof(
                    method.as_str(),
                    &target_htu,
                    nonce.as_deref(),
                    Some(&token.access_token),
                )?;
                request = request
                    .header(AUTHORIZATION, format!("DPoP {}", token.access_token))
                    .header(DPOP, proof);
            } else {
                request = request.bearer_auth(&token.access_token);
            }
            let response = build(request).send().await.map_err(transport)?;
            let got_nonce = self.remember_nonce(&nonce_key, response.headers());
            if response.status() == StatusCode::UNAUTHORIZED {
                match auth_error(response.headers()).as_deref() {
                    Some("use_dpop_nonce") if token.dpop && got_nonce && !retried_nonce => {
                        tracing::debug!("the API asked for a DPoP nonce; retrying with it");
                        retried_nonce = true;
                        continue;
                    }
                    Some("invalid_token") if !retried_token => {
                        tracing::debug!("the API refused the cached token; getting a new one");
                        retried_token = true;
                        self.forget(&token).await;
                        token = self.token().await?;
                        continue;
                    }
                    _ => {}
                }
            }
            return Ok(response);
        }
    }

    /// The public JWK of the DPoP key (for tests).
    pub fn dpop_jwk(&self) -> serde_json::Value {
        self.dpop_key.jwk.clone()
    }

    /// The cached token, or a new one. One token request at a time: callers wait for the
    /// one in flight and share its token.
    async fn token(&self) -> Result<CachedToken, HelseIdError> {
        let mut cache = self.token.lock().await;
        if let Some(t) = cache.as_ref() {
            if Instant::now() < t.renew_at {
                return Ok(t.clone());
            }
        }
        let fresh = self.request_token().await?;
        *cache = Some(fresh.clone());
        Ok(fresh)
    }

    /// Drops `used` from the cache, unless another caller has replaced it already.
    async fn forget(&self, used: &CachedToken) {
        let mut cache = self.token.lock().await;
        if cache
            .as_ref()
            .is_some_and(|t| t.access_token == used.access_token)
        {
            *cache = None;
        }
    }

    /// Asks the token endpoint for a token; with DPoP, once more with the nonce it asks for.
    async fn request_token(&self) -> Result<CachedToken, HelseIdError> {
        let nonce_key = format!("token {}", self.token_htu);
        let mut retried_nonce = false;
        loop {
            let assertion = self.assertion()?;
            let form = form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "client_credentials")
                .append_pair("client_assertion_type", CLIENT_ASSERTION_TYPE)
                .append_pair("client_assertion", &assertion)
                .append_pair("scope", &self.scope)
                .finish();
            let mut request = self
                .http
                .post(self.token_url.as_str())
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(ACCEPT, "application/json")
                .body(form);
            if self.dpop {
                let nonce = self.nonce(&nonce_key);
                let proof = self.proof("POST", &self.token_htu, nonce.as_deref(), None)?;
                request = request.header(DPOP, proof);
            }
            let response = request.send().await.map_err(transport)?;
            let got_nonce = self.remember_nonce(&nonce_key, response.headers());
            let status = response.status();
            let body = response.bytes().await.map_err(transport)?;
            if status.is_success() {
                return self.read_token(status, &body);
            }
            let error = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_string))
                .unwrap_or_else(|| format!("http_{}", status.as_u16()));
            if self.dpop && error == "use_dpop_nonce" && got_nonce && !retried_nonce {
                tracing::debug!("the token endpoint asked for a DPoP nonce; retrying with it");
                retried_nonce = true;
                continue;
            }
            tracing::info!(
                status = status.as_u16(),
                error = %code_safe(&error),
                "the token endpoint refused"
            );
            return Err(HelseIdError::Refused {
                status: status.as_u16(),
                error: code_safe(&error),
            });
        }
    }

    fn read_token(&self, status: StatusCode, body: &[u8]) -> Result<CachedToken, HelseIdError> {
        let t: TokenResponse = serde_json::from_slice(body)
            .map_err(|_| HelseIdError::Malformed("not a token response".into()))?;
        if t.access_token.is_empty() {
            return Err(HelseIdError::Malformed("an empty access token".into()));
        }
        // RFC 9449 §5: a client that asked for a bound token does not use a bearer one.
        let expected = if self.dpop { "DPoP" } else { "Bearer" };
        if !t.token_type.eq_ignore_ascii_case(expected) {
            tracing::info!(expected, "the token endpoint gave another token type");
            return Err(HelseIdError::Refused {
                status: status.as_u16(),
                error: "unexpected_token_type".into(),
            });
        }
        let lifetime = Duration::from_secs(t.expires_in.unwrap_or(0));
        Ok(CachedToken {
            access_token: t.access_token,
            dpop: self.dpop,
            renew_at: Instant::now() + lifetime.saturating_sub(RENEW_BEFORE_EXPIRY),
        })
    }

    /// A fresh client assertion (`private_key_jwt`).
    fn assertion(&self) -> Result<String, HelseIdError> {
        let now = unix_now();
        let header = json!({"alg": self.alg, "typ": "JWT", "kid": self.kid});
        let claims = json!({
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.token_url,
            "jti": uuid::Uuid::new_v4().to_string(),
            "iat": now,
            "nbf": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
        });
        jws(&header, &claims, |m| self.signer.sign(&self.rng, m))
    }

    /// A DPoP proof for `htm` `htu`, with the server's `nonce` and, at an API, the token's
    /// hash.
    fn proof(
        &self,
        htm: &str,
        htu: &str,
        nonce: Option<&str>,
        access_token: Option<&str>,
    ) -> Result<String, HelseIdError> {
        let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.dpop_key.jwk});
        let mut claims = json!({
            "jti": uuid::Uuid::new_v4().to_string(),
            "htm": htm,
            "htu": htu,
            "iat": unix_now(),
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        if let Some(token) = access_token {
            claims["ath"] = json!(URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes())));
        }
        jws(&header, &claims, |m| {
            self.dpop_key
                .pair
                .sign(&self.rng, m)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| HelseIdError::Key("signing the DPoP proof failed".into()))
        })
    }

    fn nonce(&self, key: &str) -> Option<String> {
        self.nonces
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    /// Keeps the response's `DPoP-Nonce`, if it has one; `true` when it had.
    fn remember_nonce(&self, key: &str, headers: &HeaderMap) -> bool {
        let Some(nonce) = headers
            .get(DPOP_NONCE)
            .and_then(|v| v.to_str().ok())
            .filter(|n| !n.is_empty())
        else {
            return false;
        };
        self.nonces
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), nonce.to_string());
        true
    }
}

/// A compact JWS of `header` and `claims`, signed by `sign`.
fn jws(
    header: &Value,
    claims: &Value,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, HelseIdError>,
) -> Result<String, HelseIdError> {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = sign(input.as_bytes())?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// `url` without query and fragment, as a proof's `htu`.
fn htu(url: &str) -> Result<String, HelseIdError> {
    let mut u = Url::parse(url).map_err(|_| HelseIdError::Config("a URL is not a URL".into()))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(HelseIdError::Config("a URL is not http(s)".into()));
    }
    u.set_query(None);
    u.set_fragment(None);
    Ok(u.into())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// An error of the HTTP client, without the URL (whose query may name a patient).
fn transport(e: reqwest::Error) -> HelseIdError {
    if e.is_builder() {
        return HelseIdError::Config(e.without_url().to_string());
    }
    let timeout = e.is_timeout();
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    if timeout {
        HelseIdError::Timeout(text)
    } else {
        HelseIdError::Unreachable(text)
    }
}

/// The `error` parameter of a response's `WWW-Authenticate` challenges (RFC 6750 §3,
/// RFC 9449 §7.1), e.g. `invalid_token` or `use_dpop_nonce`.
fn auth_error(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(error_param)
}

fn error_param(challenge: &str) -> Option<String> {
    let lower = challenge.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("error") {
        let start = from + i;
        from = start + "error".len();
        let before = lower[..start].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            continue;
        }
        let rest = lower[from..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let rest = rest.trim_start();
        let value = match rest.strip_prefix('"') {
            Some(quoted) => quoted.split('"').next().unwrap_or_default(),
            None => rest
                .split(|c: char| c == ',' || c.is_whitespace())
                .next()
                .unwrap_or_default(),
        };
        if !value.is_empty() {
            return Some(value.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::dpop::{self, Expected};
    use jsonwebtoken::{DecodingKey, Validation};
    use ring::signature::ECDSA_P384_SHA384_FIXED_SIGNING;

    const TOKEN_URL: &str = "https://helseid.example/connect/token";

    fn pem(label: &str, der: &[u8]) -> String {
        let b64 = STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    }

    /// An ES384 key: its PKCS#8 PEM and its public half as a decoding key.
    fn es384() -> (String, DecodingKey) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let point = pair.public_key().as_ref();
        let decoding = DecodingKey::from_ec_components(
            &URL_SAFE_NO_PAD.encode(&point[1..49]),
            &URL_SAFE_NO_PAD.encode(&point[49..97]),
        )
        .unwrap();
        (pem("PRIVATE KEY", pkcs8.as_ref()), decoding)
    }

    fn config(pem: String, algorithm: Algorithm, dpop: bool) -> HelseIdConfig {
        HelseIdConfig {
            token_url: TOKEN_URL.into(),
            client_id: "client-1".into(),
            scope: "system/Bundle.c".into(),
            private_key_pem: pem,
            kid: "kid-1".into(),
            algorithm,
            dpop,
        }
    }

    fn client(pem: String, algorithm: Algorithm) -> HelseIdClient {
        HelseIdClient::new(config(pem, algorithm, true), reqwest::Client::new()).unwrap()
    }

    fn decode_unverified(jwt: &str) -> (Value, Value) {
        let part = |i: usize| -> Value {
            serde_json::from_slice(
                &URL_SAFE_NO_PAD
                    .decode(jwt.split('.').nth(i).unwrap())
                    .unwrap(),
            )
            .unwrap()
        };
        (part(0), part(1))
    }

    fn assertion_validation(alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.set_audience(&[TOKEN_URL]);
        v.set_issuer(&["client-1"]);
        v.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub", "jti"]);
        v
    }

    #[test]
    fn the_client_is_send_and_sync() {
        fn shared<T: Send + Sync + 'static>() {}
        shared::<HelseIdClient>();
        shared::<HelseIdError>();
    }

    #[test]
    fn an_es384_assertion_follows_helseid() {
        let (pem, public) = es384();
        let c = client(pem, Algorithm::ES384);
        let a = c.assertion().unwrap();
        let header = jsonwebtoken::decode_header(&a).unwrap();
        assert_eq!(header.alg, Algorithm::ES384);
        assert_eq!(header.kid.as_deref(), Some("kid-1"));
        let claims =
            jsonwebtoken::decode::<Value>(&a, &public, &assertion_validation(Algorithm::ES384))
                .unwrap()
                .claims;
        assert_eq!(claims["iss"], "client-1");
        assert_eq!(claims["sub"], "client-1");
        assert_eq!(claims["aud"], TOKEN_URL);
        let (iat, exp) = (
            claims["iat"].as_u64().unwrap(),
            claims["exp"].as_u64().unwrap(),
        );
        assert!(exp > iat && exp - iat <= 60, "exp at most 60 s ahead");
        assert!(iat.abs_diff(unix_now()) <= 5);
        // Every assertion has its own jti.
        let again = decode_unverified(&c.assertion().unwrap()).1;
        assert!(!claims["jti"].as_str().unwrap().is_empty());
        assert_ne!(claims["jti"], again["jti"]);
    }

    #[test]
    fn an_rs384_assertion_verifies_with_the_public_key() {
        use rsa::pkcs8::EncodePrivateKey;
        use rsa::traits::PublicKeyParts;
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        let der = key.to_pkcs8_der().unwrap();
        let c = client(pem("PRIVATE KEY", der.as_bytes()), Algorithm::RS384);
        let public = DecodingKey::from_rsa_components(
            &URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
            &URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
        )
        .unwrap();
        let a = c.assertion().unwrap();
        let claims =
            jsonwebtoken::decode::<Value>(&a, &public, &assertion_validation(Algorithm::RS384))
                .unwrap()
                .claims;
        assert_eq!(claims["sub"], "client-1");
        // The same RSA key for PS256 verifies too; for ES384 it is refused.
        let ps = client(pem("PRIVATE KEY", der.as_bytes()), Algorithm::PS256);
        let a = ps.assertion().unwrap();
        assert!(jsonwebtoken::decode::<Value>(
            &a,
            &public,
            &assertion_validation(Algorithm::PS256)
        )
        .is_ok());
        let wrong = HelseIdClient::new(
            config(pem("PRIVATE KEY", der.as_bytes()), Algorithm::ES384, false),
            reqwest::Client::new(),
        );
        assert!(matches!(wrong, Err(HelseIdError::Key(_))));
    }

    #[test]
    fn unusable_keys_and_symmetric_algorithms_are_refused() {
        let (pem_384, _) = es384();
        let cases = [
            ("HMAC", pem_384.clone(), Algorithm::HS256),
            ("P-384 key as P-256", pem_384.clone(), Algorithm::ES256),
            ("EC key as RSA", pem_384.clone(), Algorithm::RS384),
            ("not PEM", "hello".to_string(), Algorithm::ES384),
            (
                "no END",
                pem_384.replace("-----END PRIVATE KEY-----", ""),
                Algorithm::ES384,
            ),
            (
                "SEC1",
                pem_384.replace("PRIVATE KEY", "EC PRIVATE KEY"),
                Algorithm::ES384,
            ),
            (
                "encrypted",
                pem("ENCRYPTED PRIVATE KEY", b"x"),
                Algorithm::ES384,
            ),
            (
                "garbage DER",
                pem("PRIVATE KEY", b"garbage"),
                Algorithm::ES384,
            ),
        ];
        for (why, pem, alg) in cases {
            let r = HelseIdClient::new(config(pem, alg, true), reqwest::Client::new());
            match r {
                Err(e @ HelseIdError::Key(_)) => {
                    assert_eq!(e.code(), "key");
                    assert!(!e.retryable());
                    // The message never repeats the key.
                    assert!(!e.to_string().contains("MI"), "{why}: {e}");
                }
                other => panic!("{why}: {other:?}"),
            }
        }
        let bad_url = HelseIdConfig {
            token_url: "not a url".into(),
            ..config(pem_384, Algorithm::ES384, true)
        };
        assert!(matches!(
            HelseIdClient::new(bad_url, reqwest::Client::new()),
            Err(HelseIdError::Config(_))
        ));
    }

    #[test]
    fn a_token_endpoint_proof_has_a_nonce_and_no_ath() {
        let (pem, _) = es384();
        let c = client(pem, Algorithm::ES384);
        let nonce = dpop::new_nonce(TOKEN_URL).unwrap();
        let proof = c.proof("POST", &c.token_htu, Some(&nonce), None).unwrap();
        let (header, claims) = decode_unverified(&proof);
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["jwk"], c.dpop_jwk());
        assert!(header["jwk"].get("d").is_none(), "only the public key");
        assert_eq!(claims["htm"], "POST");
        assert_eq!(claims["htu"], TOKEN_URL);
        assert_eq!(claims["nonce"], nonce.as_str());
        assert!(claims.get("ath").is_none());
        // The server's verifier accepts it, and names the client's key.
        let expected = Expected {
            method: "POST",
            url: TOKEN_URL,
            access_token: None,
            nonce_scope: Some(TOKEN_URL),
        };
        let checked = dpop::check(&proof, &expected, unix_now() as i64).unwrap();
        let jwk = serde_json::from_value(c.dpop_jwk()).unwrap();
        assert_eq!(checked.jkt, dpop::thumbprint(&jwk).unwrap());
        // Without the nonce the server asks for one.
        let bare = c.proof("POST", &c.token_htu, None, None).unwrap();
        assert!(decode_unverified(&bare).1.get("nonce").is_none());
        assert!(matches!(
            dpop::check(&bare, &expected, unix_now() as i64),
            Err(dpop::ProofError::UseNonce)
        ));
        // Proofs are never reused.
        assert_ne!(decode_unverified(&bare).1["jti"], claims["jti"]);
    }

    #[test]
    fn an_api_proof_names_the_token_and_the_url_without_query() {
        let (pem, _) = es384();
        let c = client(pem, Algorithm::ES384);
        let url = "https://ehr.example/fhir/Patient?identifier=12345678901#x";
        let htu = htu(url).unwrap();
        assert_eq!(htu, "https://ehr.example/fhir/Patient");
        let proof = c.proof("GET", &htu, None, Some("token-abc")).unwrap();
        let (_, claims) = decode_unverified(&proof);
        assert_eq!(claims["htu"], "https://ehr.example/fhir/Patient");
        assert_eq!(claims["htm"], "GET");
        assert_eq!(
            claims["ath"],
            URL_SAFE_NO_PAD.encode(digest(&SHA256, b"token-abc"))
        );
        let iat = claims["iat"].as_u64().unwrap();
        assert!(iat.abs_diff(unix_now()) <= 5);
        let expected = Expected {
            method: "GET",
            url: "https://ehr.example/fhir/Patient",
            access_token: Some("token-abc"),
            nonce_scope: None,
        };
        assert!(dpop::check(&proof, &expected, unix_now() as i64).is_ok());
    }

    #[test]
    fn nonces_are_kept_per_endpoint() {
        let (pem, _) = es384();
        let c = client(pem, Algorithm::ES384);
        let mut headers = HeaderMap::new();
        assert!(!c.remember_nonce("api https://a.example", &headers));
        headers.insert(DPOP_NONCE, "n1".parse().unwrap());
        assert!(c.remember_nonce("api https://a.example", &headers));
        assert_eq!(c.nonce("api https://a.example").as_deref(), Some("n1"));
        assert_eq!(c.nonce("api https://b.example"), None);
        headers.insert(DPOP_NONCE, "n2".parse().unwrap());
        c.remember_nonce("api https://a.example", &headers);
        assert_eq!(c.nonce("api https://a.example").as_deref(), Some("n2"));
    }

    #[test]
    fn challenges_name_their_error() {
        let cases = [
            (
                r#"DPoP error="use_dpop_nonce", error_description="x""#,
                Some("use_dpop_nonce"),
            ),
            (
                r#"Bearer realm="helsebro", error="invalid_token""#,
                Some("invalid_token"),
            ),
            (
                r#"Bearer error_description="no", error=invalid_token"#,
                Some("invalid_token"),
            ),
            (
                r#"DPoP algs="ES256", ERROR = "Use_DPoP_Nonce""#,
                Some("use_dpop_nonce"),
            ),
            (r#"Bearer realm="helsebro""#, None),
            (r#"Bearer myerror="x""#, None),
        ];
        for (challenge, expected) in cases {
            assert_eq!(error_param(challenge).as_deref(), expected, "{challenge}");
        }
    }

    #[test]
    fn error_codes_and_retries() {
        let refused = |status: u16, error: &str| HelseIdError::Refused {
            status,
            error: error.into(),
        };
        assert_eq!(
            refused(401, "invalid_client").code(),
            "token:invalid_client"
        );
        assert!(!refused(401, "invalid_client").retryable());
        assert!(!refused(400, "invalid_scope").retryable());
        assert!(refused(503, "http_503").retryable());
        assert_eq!(HelseIdError::Unreachable("x".into()).code(), "unreachable");
        assert!(HelseIdError::Unreachable("x".into()).retryable());
        assert_eq!(
            refused(400, "bad code\"<script>").code(),
            "token:badcodescript"
        );
        assert_eq!(refused(400, "").code(), "token:unknown");
    }

    #[test]
    fn the_config_never_shows_its_key() {
        let (pem, _) = es384();
        let shown = format!("{:?}", config(pem.clone(), Algorithm::ES384, true));
        assert!(!shown.contains(pem.lines().nth(1).unwrap()));
        assert!(shown.contains("redacted"));
    }

    #[tokio::test]
    async fn an_unreachable_token_endpoint_is_retryable() {
        let (pem, _) = es384();
        // A port nothing listens on.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let c = HelseIdClient::new(
            HelseIdConfig {
                token_url: format!("http://127.0.0.1:{port}/connect/token"),
                ..config(pem, Algorithm::ES384, true)
            },
            reqwest::Client::new(),
        )
        .unwrap();
        let e = c
            .send(
                Method::GET,
                &format!("http://127.0.0.1:{port}/fhir/Patient?identifier=12345678901"),
                &|r| r,
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), "unreachable");
        assert!(e.retryable());
        assert!(!e.to_string().contains("12345678901"));
    }
}
