//! Encryption at rest: the most sensitive values (resource JSON with its national identity
//! numbers and free text, the records' national ids, message and journal texts, saved
//! search parameters) are sealed with AES-256-GCM under a key of their tenant, and national
//! identity numbers are indexed by a keyed hash (HMAC-SHA-256), so that search by number
//! still works while a copy of the database shows neither.
//!
//! Tenant keys are wrapped with the master key, which never enters the database. Sealed
//! text is `enc1:{version}:{base64(nonce ‖ ciphertext ‖ tag)}`, bound to its tenant by the
//! AEAD's associated data, so it cannot be moved to another tenant. Unsealed text (written
//! before encryption was introduced) still reads; `helsebro keys rotate` seals it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use sqlx::Row;

use super::{now_micros, Store, StoreError};

const SEALED: &str = "enc1:";
const HASHED: &str = "h1:";

/// The deployment's master key: 32 bytes.
#[derive(Clone)]
pub struct MasterKey(pub [u8; 32]);

impl MasterKey {
    pub fn random() -> MasterKey {
        MasterKey(random_bytes())
    }

    /// From base64 text (the key file or `HELSEBRO_MASTER_KEY`).
    pub fn from_base64(text: &str) -> Option<MasterKey> {
        let bytes = STANDARD.decode(text.trim()).ok()?;
        Some(MasterKey(bytes.try_into().ok()?))
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    SystemRandom::new()
        .fill(&mut b)
        .expect("the system random source failed");
    b
}

fn aead_key(bytes: &[u8]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, bytes).expect("a 32-byte key"))
}

fn seal_with(key: &LessSafeKey, aad: &[u8], plain: &[u8]) -> Vec<u8> {
    let nonce_bytes: [u8; NONCE_LEN] = random_bytes();
    let mut buf = plain.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce_bytes),
        Aad::from(aad),
        &mut buf,
    )
    .expect("sealing never fails for in-memory buffers");
    let mut out = nonce_bytes.to_vec();
    out.extend(buf);
    out
}

fn open_with(key: &LessSafeKey, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < NONCE_LEN {
        return None;
    }
    let (nonce, rest) = sealed.split_at(NONCE_LEN);
    let mut buf = rest.to_vec();
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let plain = key.open_in_place(nonce, Aad::from(aad), &mut buf).ok()?;
    Some(plain.to_vec())
}

/// One tenant's keys: the data keys by version, and the search-hash key.
struct TenantKeys {
    current: i64,
    data: HashMap<i64, LessSafeKey>,
    search: hmac::Key,
}

/// Keys of every tenant, unwrapped on first use.
pub struct Crypto {
    master: Option<LessSafeKey>,
    tenants: RwLock<HashMap<String, Arc<TenantKeys>>>,
}

impl Crypto {
    pub fn new(master: Option<&MasterKey>) -> Crypto {
        Crypto {
            master: master.map(|m| aead_key(&m.0)),
            tenants: RwLock::new(HashMap::new()),
        }
    }

    fn cached(&self, tenant_id: &str) -> Option<Arc<TenantKeys>> {
        self.tenants
            .read()
            .expect("key cache lock")
            .get(tenant_id)
            .cloned()
    }

    fn master(&self) -> Result<&LessSafeKey, StoreError> {
        self.master
            .as_ref()
            .ok_or_else(|| StoreError::Crypto("this process has no master key".into()))
    }

    /// Unwraps stored key versions of a tenant.
    fn unwrap_all(
        &self,
        tenant_id: &str,
        rows: &[(i64, String)],
    ) -> Result<Option<TenantKeys>, StoreError> {
        let master = self.master()?;
        let mut data = HashMap::new();
        let mut search = None;
        let mut current = 0;
        for (version, wrapped) in rows {
            let bytes = STANDARD
                .decode(wrapped)
                .ok()
                .and_then(|w| open_with(master, tenant_id.as_bytes(), &w))
                .ok_or_else(|| {
                    StoreError::Crypto(format!(
                        "tenant key {version} of {tenant_id} does not open with this master key"
                    ))
                })?;
            if bytes.len() != 64 {
                return Err(StoreError::Crypto(
                    "a tenant key has the wrong length".into(),
                ));
            }
            data.insert(*version, aead_key(&bytes[..32]));
            search = Some(hmac::Key::new(hmac::HMAC_SHA256, &bytes[32..]));
            current = current.max(*version);
        }
        Ok(search.map(|search| TenantKeys {
            current,
            data,
            search,
        }))
    }

    fn wrap(&self, tenant_id: &str, data: &[u8; 32], search: &[u8]) -> Result<String, StoreError> {
        let mut both = data.to_vec();
        both.extend_from_slice(search);
        Ok(STANDARD.encode(seal_with(self.master()?, tenant_id.as_bytes(), &both)))
    }
}

impl Store {
    async fn stored_keys(&self, tenant_id: &str) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, wrapped FROM tenant_keys WHERE tenant_id = $1 ORDER BY version",
        )
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Makes the tenant's first key if it has none, and loads its keys. Called when a
    /// tenant is made and at start, outside any write transaction.
    pub async fn ensure_tenant_keys(&self, tenant_id: &str) -> Result<(), StoreError> {
        let mut rows = self.stored_keys(tenant_id).await?;
        if rows.is_empty() {
            let search: [u8; 32] = random_bytes();
            let wrapped = self.crypto.wrap(tenant_id, &random_bytes(), &search)?;
            sqlx::query(
                "INSERT INTO tenant_keys (tenant_id, version, wrapped, created_at) \
                 VALUES ($1, 1, $2, $3) ON CONFLICT (tenant_id, version) DO NOTHING",
            )
            .bind(tenant_id)
            .bind(wrapped)
            .bind(now_micros())
            .execute(self.pool())
            .await?;
            rows = self.stored_keys(tenant_id).await?;
        }
        self.cache_tenant_keys(tenant_id, &rows)?;
        Ok(())
    }

    async fn load_tenant_keys(&self, tenant_id: &str) -> Result<Arc<TenantKeys>, StoreError> {
        let rows = self.stored_keys(tenant_id).await?;
        self.cache_tenant_keys(tenant_id, &rows)
    }

    /// Unwraps `rows` and keeps them as the tenant's keys.
    fn cache_tenant_keys(
        &self,
        tenant_id: &str,
        rows: &[(i64, String)],
    ) -> Result<Arc<TenantKeys>, StoreError> {
        let keys = self
            .crypto
            .unwrap_all(tenant_id, rows)?
            .ok_or_else(|| StoreError::Crypto(format!("tenant {tenant_id} has no key")))?;
        let keys = Arc::new(keys);
        self.crypto
            .tenants
            .write()
            .expect("key cache lock")
            .insert(tenant_id.to_string(), keys.clone());
        Ok(keys)
    }

    /// The tenant's keys; loaded (never made) on a miss, e.g. a tenant another process
    /// made. Reading keys needs no write lock, so this is safe inside a write transaction.
    async fn tenant_keys(&self, tenant_id: &str) -> Result<Arc<TenantKeys>, StoreError> {
        match self.crypto.cached(tenant_id) {
            Some(k) => Ok(k),
            None => self.load_tenant_keys(tenant_id).await,
        }
    }

    /// Adds a key version; what is sealed from now on uses it. The search key stays, so
    /// the index of national identity numbers stays valid.
    pub async fn add_tenant_key_version(&self, tenant_id: &str) -> Result<i64, StoreError> {
        let rows = self.stored_keys(tenant_id).await?;
        let keys = self.cache_tenant_keys(tenant_id, &rows)?;
        // The search key is not kept in memory in a form that can be re-wrapped, so it is
        // read back from the newest stored version.
        let (_, newest) = rows.last().ok_or(StoreError::Conflict)?;
        let master = self.crypto.master()?;
        let both = STANDARD
            .decode(newest)
            .ok()
            .and_then(|w| open_with(master, tenant_id.as_bytes(), &w))
            .ok_or_else(|| StoreError::Crypto("the newest tenant key does not open".into()))?;
        let version = keys.current + 1;
        let wrapped = self.crypto.wrap(tenant_id, &random_bytes(), &both[32..])?;
        sqlx::query(
            "INSERT INTO tenant_keys (tenant_id, version, wrapped, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(tenant_id)
        .bind(version)
        .bind(wrapped)
        .bind(now_micros())
        .execute(self.pool())
        .await?;
        self.load_tenant_keys(tenant_id).await?;
        Ok(version)
    }

    /// Seals `plain` for `tenant_id` with its current key.
    pub async fn seal(&self, tenant_id: &str, plain: &str) -> Result<String, StoreError> {
        let keys = self.tenant_keys(tenant_id).await?;
        let key = &keys.data[&keys.current];
        let sealed = seal_with(key, tenant_id.as_bytes(), plain.as_bytes());
        Ok(format!(
            "{SEALED}{}:{}",
            keys.current,
            STANDARD.encode(sealed)
        ))
    }

    /// Opens text sealed for `tenant_id`; unsealed text is returned as it is.
    pub async fn unseal(&self, tenant_id: &str, stored: String) -> Result<String, StoreError> {
        let Some(rest) = stored.strip_prefix(SEALED) else {
            return Ok(stored);
        };
        let broken = || StoreError::Crypto(format!("a sealed value of {tenant_id} does not open"));
        let (version, body) = rest.split_once(':').ok_or_else(broken)?;
        let version: i64 = version.parse().map_err(|_| broken())?;
        let mut keys = self.tenant_keys(tenant_id).await?;
        if !keys.data.contains_key(&version) {
            // A version another process added since this one loaded the keys.
            keys = self.load_tenant_keys(tenant_id).await?;
        }
        let key = keys.data.get(&version).ok_or_else(broken)?;
        let sealed = STANDARD.decode(body).map_err(|_| broken())?;
        let plain = open_with(key, tenant_id.as_bytes(), &sealed).ok_or_else(broken)?;
        String::from_utf8(plain).map_err(|_| broken())
    }

    /// `unseal` for an optional value.
    pub async fn unseal_opt(
        &self,
        tenant_id: &str,
        stored: Option<String>,
    ) -> Result<Option<String>, StoreError> {
        match stored {
            Some(s) => Ok(Some(self.unseal(tenant_id, s).await?)),
            None => Ok(None),
        }
    }

    /// The keyed hash a national identity number is indexed and searched by.
    pub async fn search_hash(&self, tenant_id: &str, value: &str) -> Result<String, StoreError> {
        Ok(self.search_hasher(tenant_id).await?.hash(value))
    }

    /// A synchronous hasher for the tenant, for the search compiler.
    pub async fn search_hasher(&self, tenant_id: &str) -> Result<SearchHasher, StoreError> {
        Ok(SearchHasher(
            self.tenant_keys(tenant_id).await?.search.clone(),
        ))
    }
}

/// Secrets of the deployment itself (the token signing keys), sealed with the master key.
const MASTER_SEALED: &str = "menc1:";

impl Store {
    /// Seals a deployment secret with the master key; `label` names what it is for.
    pub fn seal_secret(&self, label: &str, plain: &str) -> Result<String, StoreError> {
        let master = self.crypto.master()?;
        let sealed = seal_with(master, label.as_bytes(), plain.as_bytes());
        Ok(format!("{MASTER_SEALED}{}", STANDARD.encode(sealed)))
    }

    /// Opens a deployment secret; one stored before sealing existed is returned as it is.
    pub fn unseal_secret(&self, label: &str, stored: String) -> Result<String, StoreError> {
        let Some(body) = stored.strip_prefix(MASTER_SEALED) else {
            return Ok(stored);
        };
        let broken = || StoreError::Crypto(format!("{label} does not open with this master key"));
        let sealed = STANDARD.decode(body).map_err(|_| broken())?;
        let plain =
            open_with(self.crypto.master()?, label.as_bytes(), &sealed).ok_or_else(broken)?;
        String::from_utf8(plain).map_err(|_| broken())
    }
}

/// Hashes national identity numbers the way the index holds them.
#[derive(Clone)]
pub struct SearchHasher(hmac::Key);

impl SearchHasher {
    pub fn hash(&self, value: &str) -> String {
        let tag = hmac::sign(&self.0, value.as_bytes());
        format!("{HASHED}{}", hex(&tag.as_ref()[..16]))
    }
}

/// SHA-256 as lowercase hex: stored handles, the access log's chain, content digests.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, data).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `system` is one of the national person-identifier systems (FNR, DNR, HNR, FHN),
/// whose values are indexed by keyed hash.
pub fn is_national_id_system(system: &str) -> bool {
    helsebro_profiles::identifiers::NationalIdKind::from_system(system).is_some()
}
