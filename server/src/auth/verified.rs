//! Access tokens whose signature and claims were already checked, by SHA-256 of the token
//! and the audience. An ES256 verification was the largest part of a read's CPU, and a
//! client sends the same token with every request of a session. Only what the signature
//! vouches for is remembered, until the token expires; the grant (revocation, expiry,
//! scope) is still read on every request.

use std::collections::HashMap;
use std::sync::Mutex;

use ring::digest::{Context, SHA256};

/// Tokens remembered at most; beyond, expired ones are dropped, then all.
const CAPACITY: usize = 10_000;

/// The claims a verified token carries that the grant check needs.
#[derive(Debug, Clone)]
pub struct Verified {
    pub jti: String,
    /// The tenant's organisation number.
    pub tenant: String,
    /// The DPoP key thumbprint the token is bound to.
    pub jkt: Option<String>,
    /// Expiry (seconds since the epoch), leeway included.
    pub valid_until: i64,
}

#[derive(Default)]
pub struct VerifiedTokens {
    map: Mutex<HashMap<[u8; 32], Verified>>,
}

/// The cache key of `token` verified for `audience`.
pub fn key(token: &str, audience: &str) -> [u8; 32] {
    let mut context = Context::new(&SHA256);
    context.update(audience.as_bytes());
    context.update(&[0]);
    context.update(token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

impl VerifiedTokens {
    /// The remembered claims, while the token has not expired at `now` (seconds).
    pub fn get(&self, key: &[u8; 32], now: i64) -> Option<Verified> {
        let map = self.map.lock().expect("verified tokens lock");
        map.get(key).filter(|v| v.valid_until > now).cloned()
    }

    pub fn put(&self, key: [u8; 32], verified: Verified, now: i64) {
        let mut map = self.map.lock().expect("verified tokens lock");
        if map.len() >= CAPACITY {
            map.retain(|_, v| v.valid_until > now);
            if map.len() >= CAPACITY {
                map.clear();
            }
        }
        map.insert(key, verified);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verified(valid_until: i64) -> Verified {
        Verified {
            jti: "j".into(),
            tenant: "t".into(),
            jkt: None,
            valid_until,
        }
    }

    #[test]
    fn remembered_until_expiry_and_per_audience() {
        let cache = VerifiedTokens::default();
        let k = key("token", "https://a/fhir");
        cache.put(k, verified(100), 0);
        assert!(cache.get(&k, 99).is_some());
        assert!(cache.get(&k, 100).is_none(), "expired");
        assert!(cache.get(&key("token", "https://b/fhir"), 50).is_none());
        assert!(cache.get(&key("other", "https://a/fhir"), 50).is_none());
    }

    #[test]
    fn stays_bounded() {
        let cache = VerifiedTokens::default();
        for i in 0..CAPACITY + 5 {
            cache.put(key(&i.to_string(), "a"), verified(10), 0);
        }
        assert!(cache.map.lock().unwrap().len() <= CAPACITY);
    }
}
