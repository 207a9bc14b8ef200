//! The keys this server signs its access tokens with: ECDSA P-256 (ES256), made on first
//! use and kept in the database so that every process of a deployment shares them.

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

/// The deployment's keys, newest last.
pub struct KeyRing {
    keys: RwLock<Vec<Arc<SigningKey>>>,
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
        })
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
        json!({"keys": keys.iter().map(|k| k.public_jwk.clone()).collect::<Vec<_>>()})
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
