//! Access tokens: ES256-signed JWTs, each a handle on a stored grant. The signature and
//! claims make a forged or foreign token fail without a database read; the grant makes a
//! revocation count at once.

use std::time::Duration;

use jsonwebtoken::{decode, decode_header, encode, Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use super::access::Access;
use super::keys::{KeyError, KeyRing};
use super::scopes::{Context, Scopes};
use crate::store::auth::AccessGrant;
use crate::store::{now_micros, Store, StoreError};
use crate::tenant::Tenant;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub client_id: String,
    pub scope: String,
    /// The tenant's organisation number.
    pub tenant: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
    #[serde(rename = "fhirUser", default, skip_serializing_if = "Option::is_none")]
    pub fhir_user: Option<String>,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// The key a DPoP-bound token is bound to (RFC 9449 §6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// The confirmation claim of a DPoP-bound token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The RFC 7638 thumbprint of the key proofs must be signed with.
    pub jkt: String,
}

pub struct NewToken<'a> {
    pub tenant: &'a Tenant,
    pub client_id: &'a str,
    /// The user, or the client itself for backend services.
    pub subject: &'a str,
    pub scopes: &'a Scopes,
    pub patient: Option<&'a str>,
    pub fhir_user: Option<&'a str>,
    pub lifetime: Duration,
    /// The code-flow authorization behind the token, if any.
    pub authorization_id: Option<&'a str>,
    /// The thumbprint of the DPoP key the token is bound to, if any.
    pub jkt: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// No usable bearer token: the client should authenticate.
    #[error("this request needs a bearer access token")]
    Missing,
    /// A token was sent but cannot be honoured; the reason stays in the server's log.
    #[error("the access token is invalid, expired or revoked")]
    Invalid(String),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Records the grant and returns the signed token. `audience` is the FHIR base the token is
/// for; this server is its issuer too.
pub async fn issue(
    store: &Store,
    keys: &KeyRing,
    audience: &str,
    t: &NewToken<'_>,
) -> Result<String, TokenError> {
    let now = now_micros() / 1_000_000;
    let grant = AccessGrant {
        jti: uuid::Uuid::new_v4().simple().to_string(),
        tenant_id: t.tenant.id.clone(),
        client_id: t.client_id.to_string(),
        subject: t.subject.to_string(),
        scope: t.scopes.to_scope_string(),
        patient_id: t.patient.map(str::to_string),
        fhir_user: t.fhir_user.map(str::to_string),
        issued_at: now,
        expires_at: now + t.lifetime.as_secs() as i64,
        revoked: false,
        authorization_id: t.authorization_id.map(str::to_string),
        jkt: t.jkt.map(str::to_string),
    };
    store.add_access_grant(&grant).await?;
    let claims = Claims {
        iss: audience.to_string(),
        aud: audience.to_string(),
        sub: grant.subject.clone(),
        client_id: grant.client_id.clone(),
        scope: grant.scope.clone(),
        tenant: t.tenant.org_number.clone(),
        patient: grant.patient_id.clone(),
        fhir_user: grant.fhir_user.clone(),
        iat: grant.issued_at,
        exp: grant.expires_at,
        jti: grant.jti.clone(),
        cnf: grant.jkt.clone().map(|jkt| Confirmation { jkt }),
    };
    let key = keys.signing();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.kid.clone());
    header.typ = Some("at+jwt".into());
    encode(&header, &claims, &key.encoding)
        .map_err(|e| TokenError::Invalid(format!("signing failed: {e}")))
}

/// Checks a bearer token this server issued for `audience` and returns what it grants.
pub async fn verify(
    store: &Store,
    keys: &KeyRing,
    audience: &str,
    token: &str,
) -> Result<Access, TokenError> {
    let invalid = |why: &str| TokenError::Invalid(why.to_string());
    let now = now_micros() / 1_000_000;
    let cache_key = super::verified::key(token, audience);
    let claims = match keys.verified.get(&cache_key, now) {
        Some(v) => v,
        None => {
            let v = verify_signature(store, keys, audience, token).await?;
            keys.verified.put(cache_key, v.clone(), now);
            v
        }
    };
    let (grant, tenant) = store
        .access_grant(&claims.jti)
        .await?
        .ok_or_else(|| invalid("no grant"))?;
    if grant.revoked || grant.expires_at <= now {
        return Err(invalid("revoked or expired grant"));
    }
    if tenant.org_number != claims.tenant {
        return Err(invalid("tenant mismatch"));
    }
    if claims.jkt != grant.jkt {
        return Err(invalid("key binding differs from the grant"));
    }
    let scopes = Scopes::parse(&grant.scope).map_err(|_| invalid("stored scope unreadable"))?;
    let access = Access {
        tenant,
        client_id: grant.client_id,
        subject: grant.subject,
        scopes,
        patient: grant.patient_id,
        fhir_user: grant.fhir_user,
        care_patients: Vec::new(),
        bound_to: grant.jkt,
        purpose_of_use: None,
    };
    Ok(access.with_care(store).await?)
}

/// The signature, algorithm, key, audience, issuer and expiry of `token`.
async fn verify_signature(
    store: &Store,
    keys: &KeyRing,
    audience: &str,
    token: &str,
) -> Result<super::verified::Verified, TokenError> {
    let invalid = |why: &str| TokenError::Invalid(why.to_string());
    let header = decode_header(token).map_err(|_| invalid("not a JWT"))?;
    // The algorithm is ours to choose, never the token's: `none`, HMAC with the public key
    // as secret and every other algorithm are refused here.
    if header.alg != Algorithm::ES256 {
        return Err(invalid("algorithm is not ES256"));
    }
    let kid = header.kid.ok_or_else(|| invalid("no kid"))?;
    let key = keys
        .find(store, &kid)
        .await?
        .ok_or_else(|| invalid("unknown kid"))?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[audience]);
    validation.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub"]);
    validation.leeway = LEEWAY_SECS;
    let claims = decode::<Claims>(token, &key.decoding, &validation)
        .map_err(|e| TokenError::Invalid(format!("rejected: {e}")))?
        .claims;
    Ok(super::verified::Verified {
        jti: claims.jti,
        tenant: claims.tenant,
        jkt: claims.cnf.map(|c| c.jkt),
        valid_until: claims.exp + LEEWAY_SECS as i64,
    })
}

/// Clock skew tolerated on `exp`.
const LEEWAY_SECS: u64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Bearer,
    /// RFC 9449: the token comes with a proof of possession in the `DPoP` header.
    DPoP,
}

/// The scheme and token of an `Authorization` header value.
pub fn authorization(header: Option<&str>) -> Result<(Scheme, &str), TokenError> {
    let value = header.ok_or(TokenError::Missing)?;
    let (scheme, token) = value.split_once(' ').ok_or(TokenError::Missing)?;
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Scheme::DPoP
    } else {
        return Err(TokenError::Missing);
    };
    match token.trim() {
        "" => Err(TokenError::Missing),
        token => Ok((scheme, token)),
    }
}

/// The token of an `Authorization: Bearer …` header value.
pub fn bearer(header: Option<&str>) -> Result<&str, TokenError> {
    match authorization(header)? {
        (Scheme::Bearer, token) => Ok(token),
        (Scheme::DPoP, _) => Err(TokenError::Missing),
    }
}

/// The client that `helsebro token` issues for, on a trusted machine.
pub const OPERATOR_CLIENT: &str = "helsebro-operator";

/// What `helsebro token` asks for.
pub struct OperatorRequest<'a> {
    pub tenant: &'a Tenant,
    pub scope: &'a str,
    /// The launch patient of patient/ scopes.
    pub patient: Option<&'a str>,
    /// `Practitioner/ID`, whose care relationships user/ scopes follow.
    pub user: Option<&'a str>,
    pub lifetime: Duration,
}

/// A token for the operator client, as `helsebro token` prints it. Patient scopes need the
/// launch patient, which must exist in the tenant, as must the user.
pub async fn operator_token(
    store: &Store,
    keys: &KeyRing,
    audience: &str,
    request: &OperatorRequest<'_>,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let OperatorRequest {
        tenant,
        scope,
        patient,
        user,
        lifetime,
    } = *request;
    let scopes = Scopes::parse(scope)?;
    if let Some(user) = user {
        let Some(("Practitioner", id)) = user.split_once('/') else {
            return Err("--user names a Practitioner, e.g. Practitioner/123".into());
        };
        let found = store.read_current(&tenant.id, "Practitioner", id).await?;
        if found.is_none_or(|c| c.deleted) {
            return Err(format!("{user} does not exist in tenant {}", tenant.org_number).into());
        }
    }
    if scopes.clinical.is_empty() {
        return Err("the scope names no resource access (e.g. system/*.rs)".into());
    }
    let needs_patient = scopes.contexts().contains(&Context::Patient);
    match (needs_patient, patient) {
        (true, None) => return Err("patient/ scopes need --patient".into()),
        (_, Some(p)) => {
            let found = store.read_current(&tenant.id, "Patient", p).await?;
            if found.is_none_or(|c| c.deleted) {
                return Err(
                    format!("Patient/{p} does not exist in tenant {}", tenant.org_number).into(),
                );
            }
        }
        _ => {}
    }
    let token = issue(
        store,
        keys,
        audience,
        &NewToken {
            tenant,
            client_id: OPERATOR_CLIENT,
            subject: OPERATOR_CLIENT,
            scopes: &scopes,
            patient,
            fhir_user: user,
            lifetime,
            authorization_id: None,
            jkt: None,
        },
    )
    .await?;
    Ok(token)
}

/// A JWT's payload, unverified: only for tokens `verify` has already accepted.
pub fn unverified_claims(token: &str) -> Option<serde_json::Value> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}
