//! JWT access tokens from trusted external issuers (an EHR's own SMART authorization
//! server, HelseID): verified against the issuer's published keys, their claims mapped to
//! tenant, user, patient and scopes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::Value;

use super::access::Access;
use super::scopes::Scopes;
use super::tokens::TokenError;
use crate::store::issuers::TrustedIssuer;
use crate::store::Store;

/// Asymmetric algorithms only: an external token can never be checked with a shared secret.
const ALGORITHMS: [Algorithm; 7] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// How long fetched keys are trusted before they are fetched again; an unknown `kid`
/// refetches at once (key rotation), at most once a minute.
const KEYS_FRESH_FOR: Duration = Duration::from_secs(300);
const REFETCH_AFTER: Duration = Duration::from_secs(60);

const HPR_NUMBER: &str = "helseid://claims/hpr/hpr_number";
const ORG_NUMBER_CLAIMS: [&str; 3] = [
    "helseid://claims/client/claims/orgnr_parent",
    "orgnr_parent",
    "tenant",
];

#[derive(Default)]
pub struct IssuerKeys {
    cache: Mutex<HashMap<String, (Instant, JwkSet)>>,
}

impl IssuerKeys {
    async fn keys(&self, jwks_uri: &str, kid: &str) -> Result<JwkSet, TokenError> {
        let cached = self.cached(jwks_uri);
        if let Some((at, set)) = &cached {
            let fresh = at.elapsed() < KEYS_FRESH_FOR;
            let may_refetch = at.elapsed() >= REFETCH_AFTER;
            if fresh && (set.find(kid).is_some() || !may_refetch) {
                return Ok(set.clone());
            }
        }
        let set = fetch_jwks(jwks_uri)
            .await
            .map_err(|e| TokenError::Invalid(format!("issuer keys at {jwks_uri}: {e}")))?;
        self.cache
            .lock()
            .expect("key cache lock")
            .insert(jwks_uri.to_string(), (Instant::now(), set.clone()));
        Ok(set)
    }

    fn cached(&self, jwks_uri: &str) -> Option<(Instant, JwkSet)> {
        self.cache
            .lock()
            .expect("key cache lock")
            .get(jwks_uri)
            .cloned()
    }
}

/// A JWK Set published at `uri` (an issuer's or a client's keys).
pub async fn fetch_jwks(uri: &str) -> Result<JwkSet, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?
        .get(uri)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
}

/// The issuer a token claims, before anything about it is trusted.
pub fn claimed_issuer(token: &str) -> Option<String> {
    super::tokens::unverified_claims(token)?["iss"]
        .as_str()
        .map(str::to_string)
}

/// Verifies a token of `issuer` and maps its claims.
pub async fn verify(
    store: &Store,
    keys: &IssuerKeys,
    issuer: &TrustedIssuer,
    token: &str,
) -> Result<Access, TokenError> {
    let invalid = |why: &str| TokenError::Invalid(why.to_string());
    let header = decode_header(token).map_err(|_| invalid("not a JWT"))?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(invalid("algorithm refused"));
    }
    let kid = header.kid.unwrap_or_default();
    let set = keys.keys(&issuer.jwks_uri, &kid).await?;
    let jwk = if kid.is_empty() && set.keys.len() == 1 {
        &set.keys[0]
    } else {
        set.find(&kid).ok_or_else(|| invalid("unknown kid"))?
    };
    let key = DecodingKey::from_jwk(jwk).map_err(|_| invalid("unusable JWK"))?;
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[issuer.audience.as_str()]);
    validation.set_issuer(&[issuer.issuer.as_str()]);
    validation.set_required_spec_claims(&["exp", "aud", "iss"]);
    validation.leeway = 30;
    let claims = decode::<Value>(token, &key, &validation)
        .map_err(|e| TokenError::Invalid(format!("rejected: {e}")))?
        .claims;
    map_claims(store, issuer, &claims).await
}

async fn map_claims(
    store: &Store,
    issuer: &TrustedIssuer,
    c: &Value,
) -> Result<Access, TokenError> {
    let invalid = |why: String| TokenError::Invalid(why);
    let org_number = ORG_NUMBER_CLAIMS.iter().find_map(|k| c[*k].as_str());
    let tenant = match (org_number, &issuer.tenant_id) {
        (Some(org), _) => store.tenant_by_org_number(org).await?,
        (None, Some(id)) => store.tenant(id).await?,
        (None, None) => None,
    }
    .ok_or_else(|| invalid("no tenant for the token's organisation".into()))?;
    if let (Some(fixed), Some(_)) = (&issuer.tenant_id, org_number) {
        // An issuer bound to one tenant cannot speak for another.
        if *fixed != tenant.id {
            return Err(invalid("organisation outside the issuer's tenant".into()));
        }
    }
    let scope = match &c["scope"] {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    };
    let scopes = Scopes::parse(&scope).map_err(|e| invalid(e.to_string()))?;
    let fhir_user = match (c["fhirUser"].as_str(), c[HPR_NUMBER].as_str()) {
        (Some(u), _) => Some(relative_reference(u)),
        (None, Some(hpr)) => store
            .practitioner_by_hpr(&tenant.id, hpr)
            .await?
            .map(|id| format!("Practitioner/{id}")),
        (None, None) => None,
    };
    let client_id = ["client_id", "azp", "helseid://claims/client/client_id"]
        .iter()
        .find_map(|k| c[*k].as_str())
        .unwrap_or("external")
        .to_string();
    let access = Access {
        client_id,
        subject: c["sub"].as_str().unwrap_or_default().to_string(),
        scopes,
        patient: c["patient"].as_str().map(str::to_string),
        fhir_user,
        care_patients: Vec::new(),
        bound_to: c["cnf"]["jkt"].as_str().map(str::to_string),
        purpose_of_use: purpose_of_use(c),
        tenant,
    };
    Ok(access.with_care(store).await?)
}

/// The purpose of use a token carries: a `purpose_of_use` claim (a code, or a coding), or
/// one in the HelseID trust framework's `authorization_details` (its care relationship's
/// `purpose_of_use`).
fn purpose_of_use(c: &Value) -> Option<String> {
    let code = |v: &Value| {
        v.as_str()
            .or_else(|| v["code"].as_str())
            .map(str::to_string)
    };
    code(&c["purpose_of_use"]).or_else(|| {
        c["authorization_details"].as_array()?.iter().find_map(|d| {
            code(&d["care_relationship"]["purpose_of_use"]).or_else(|| code(&d["purpose_of_use"]))
        })
    })
}

/// `https://ehr.example/fhir/Practitioner/123` → `Practitioner/123`.
fn relative_reference(url: &str) -> String {
    let mut parts: Vec<&str> = url.rsplit('/').take(2).collect();
    parts.reverse();
    parts.join("/")
}
