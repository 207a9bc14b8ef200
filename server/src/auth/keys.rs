//! The keys this server signs with, kept in the database so that every process of a
//! deployment shares them: ECDSA P-256 (ES256) for access tokens, made on first use, and
//! RSA (RS256) for OpenID Connect id_tokens, which SMART requires to be RS256. The RSA key
//! is made when first needed, as making one takes a while.

use std::sync::{Arc, RwLock};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{DecodingKey, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

use crate::store::auth::StoredKey;
use crate::store::{Store, StoreError};

const ALG: &str = "ES256";
const ID_TOKEN_ALG: &str = "RS256";
const RSA_BITS: usize = 2048;

pub struct SigningKey {
    pub kid: String,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    /// The public half as a JWK, for the JWKS document.
    pub public_jwk: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key {0} in the database is unusable")]
    Unusable(String),
    #[error("the system random source failed")]
    Random,
}

/// The RS256 key id_tokens are signed with.
pub struct IdTokenKey {
    pub kid: String,
    pub encoding: EncodingKey,
    pub public_jwk: Value,
}

/// The deployment's keys, newest last.
pub struct KeyRing {
    keys: RwLock<Vec<Arc<SigningKey>>>,
    id_token: RwLock<Option<Arc<IdTokenKey>>>,
    /// Access tokens this process has verified (see `verified`).
    pub verified: super::verified::VerifiedTokens,
}

impl KeyRing {
    /// Loads the keys, making the first one if there is none.
    pub async fn load(store: &Store) -> Result<KeyRing, KeyError> {
        let mut stored = store.signing_keys().await?;
        if stored.is_empty() {
            store.add_signing_key(&generate()?).await?;
            stored = store.signing_keys().await?;
        }
        Ok(KeyRing {
            keys: RwLock::new(parse_all(&stored)?),
            id_token: RwLock::new(newest_id_token_key(&stored)?),
            verified: Default::default(),
        })
    }

    /// The id_token key, made and stored when this deployment has none yet.
    pub async fn id_token_key(&self, store: &Store) -> Result<Arc<IdTokenKey>, KeyError> {
        if let Some(k) = self.id_token.read().expect("key ring lock").clone() {
            return Ok(k);
        }
        let mut found = newest_id_token_key(&store.signing_keys().await?)?;
        if found.is_none() {
            let made = tokio::task::spawn_blocking(generate_rsa)
                .await
                .map_err(|_| KeyError::Random)??;
            store.add_signing_key(&made).await?;
            found = newest_id_token_key(&store.signing_keys().await?)?;
        }
        let key = found.ok_or_else(|| KeyError::Unusable("RS256".into()))?;
        *self.id_token.write().expect("key ring lock") = Some(key.clone());
        Ok(key)
    }

    /// The key new tokens are signed with.
    pub fn signing(&self) -> Arc<SigningKey> {
        let keys = self.keys.read().expect("key ring lock");
        keys.last().expect("a key ring is never empty").clone()
    }

    /// The key named `kid`, reloading once from the database when another process (the
    /// token command) made it after this one started.
    pub async fn find(
        &self,
        store: &Store,
        kid: &str,
    ) -> Result<Option<Arc<SigningKey>>, KeyError> {
        if let Some(k) = self.cached(kid) {
            return Ok(Some(k));
        }
        let fresh = parse_all(&store.signing_keys().await?)?;
        if !fresh.is_empty() {
            *self.keys.write().expect("key ring lock") = fresh;
        }
        Ok(self.cached(kid))
    }

    fn cached(&self, kid: &str) -> Option<Arc<SigningKey>> {
        let keys = self.keys.read().expect("key ring lock");
        keys.iter().find(|k| k.kid == kid).cloned()
    }

    /// The public keys as a JWK Set.
    pub fn jwks(&self) -> Value {
        let keys = self.keys.read().expect("key ring lock");
        let mut out: Vec<Value> = keys.iter().map(|k| k.public_jwk.clone()).collect();
        if let Some(k) = self.id_token.read().expect("key ring lock").as_ref() {
            out.push(k.public_jwk.clone());
        }
        json!({ "keys": out })
    }
}

fn generate() -> Result<StoredKey, KeyError> {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map_err(|_| KeyError::Random)?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .map_err(|_| KeyError::Random)?;
    // An uncompressed P-256 point: 0x04, then 32 bytes of x and 32 of y.
    let point = pair.public_key().as_ref();
    let kid = uuid::Uuid::new_v4().simple().to_string();
    let jwk = json!({
        "kty": "EC",
        "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        "kid": kid,
        "alg": ALG,
        "use": "sig"
    });
    Ok(StoredKey {
        kid,
        alg: ALG.into(),
        private_pkcs8: STANDARD.encode(pkcs8.as_ref()),
        public_jwk: jwk.to_string(),
    })
}

fn parse_all(stored: &[StoredKey]) -> Result<Vec<Arc<SigningKey>>, KeyError> {
    stored
        .iter()
        .filter(|k| k.alg == ALG)
        .map(|k| parse(k).map(Arc::new))
        .collect()
}

fn parse(k: &StoredKey) -> Result<SigningKey, KeyError> {
    let unusable = || KeyError::Unusable(k.kid.clone());
    let der = STANDARD.decode(&k.private_pkcs8).map_err(|_| unusable())?;
    let jwk: Value = serde_json::from_str(&k.public_jwk).map_err(|_| unusable())?;
    let (Some(x), Some(y)) = (jwk["x"].as_str(), jwk["y"].as_str()) else {
        return Err(unusable());
    };
    Ok(SigningKey {
        kid: k.kid.clone(),
        encoding: EncodingKey::from_ec_der(&der),
        decoding: DecodingKey::from_ec_components(x, y).map_err(|_| unusable())?,
        public_jwk: jwk,
    })
}

fn generate_rsa() -> Result<StoredKey, KeyError> {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, RSA_BITS)
        .map_err(|_| KeyError::Random)?;
    let der = key.to_pkcs1_der().map_err(|_| KeyError::Random)?;
    let kid = uuid::Uuid::new_v4().simple().to_string();
    let jwk = json!({
        "kty": "RSA",
        "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
        "kid": kid,
        "alg": ID_TOKEN_ALG,
        "use": "sig"
    });
    // The column is named for the EC keys; RSA keys are kept as PKCS#1 DER, the form
    // jsonwebtoken reads.
    Ok(StoredKey {
        kid,
        alg: ID_TOKEN_ALG.into(),
        private_pkcs8: STANDARD.encode(der.as_bytes()),
        public_jwk: jwk.to_string(),
    })
}

fn newest_id_token_key(stored: &[StoredKey]) -> Result<Option<Arc<IdTokenKey>>, KeyError> {
    let Some(k) = stored.iter().rev().find(|k| k.alg == ID_TOKEN_ALG) else {
        return Ok(None);
    };
    let unusable = || KeyError::Unusable(k.kid.clone());
    let der = STANDARD.decode(&k.private_pkcs8).map_err(|_| unusable())?;
    Ok(Some(Arc::new(IdTokenKey {
        kid: k.kid.clone(),
        encoding: EncodingKey::from_rsa_der(&der),
        public_jwk: serde_json::from_str(&k.public_jwk).map_err(|_| unusable())?,
    })))
}
