//! Signing keys and the grants behind access tokens.

use sqlx::Row;

use super::{flag, now_micros, Store, StoreError};
use crate::tenant::{Tenant, ValidationLevel};

pub struct StoredKey {
    pub kid: String,
    pub alg: String,
    pub private_pkcs8: String,
    pub public_jwk: String,
}

/// The facts an access token stands for.
#[derive(Debug, Clone)]
pub struct AccessGrant {
    pub jti: String,
    pub tenant_id: String,
    pub client_id: String,
    pub subject: String,
    pub scope: String,
    pub patient_id: Option<String>,
    pub fhir_user: Option<String>,
    pub issued_at: i64,
    pub expires_at: i64,
    pub revoked: bool,
    /// The code-flow authorization the token came from.
    pub authorization_id: Option<String>,
    /// The thumbprint of the DPoP key the token is bound to (`cnf.jkt`), if any.
    pub jkt: Option<String>,
}

impl Store {
    /// Every signing key, oldest first.
    pub async fn signing_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT kid, alg, private_pkcs8, public_jwk FROM signing_keys ORDER BY created_at, kid",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let kid: String = r.get(0);
                Ok(StoredKey {
                    private_pkcs8: self.unseal_secret(&format!("signing key {kid}"), r.get(2))?,
                    kid,
                    alg: r.get(1),
                    public_jwk: r.get(3),
                })
            })
            .collect()
    }

    pub async fn add_signing_key(&self, key: &StoredKey) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, private_pkcs8, public_jwk, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        // The private half never reaches the database unsealed.
        .bind(self.seal_secret(&format!("signing key {}", key.kid), &key.private_pkcs8)?)
        .bind(&key.public_jwk)
        .bind(now_micros())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn add_access_grant(&self, g: &AccessGrant) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO access_grants (jti, tenant_id, client_id, subject, scope, patient_id, \
             fhir_user, issued_at, expires_at, revoked, authorization_id, jkt) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&g.jti)
        .bind(&g.tenant_id)
        .bind(&g.client_id)
        .bind(&g.subject)
        .bind(&g.scope)
        .bind(g.patient_id.as_deref())
        .bind(g.fhir_user.as_deref())
        .bind(g.issued_at)
        .bind(g.expires_at)
        .bind(g.revoked)
        .bind(g.authorization_id.as_deref())
        .bind(g.jkt.as_deref())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The grant and its tenant, in one round trip: every authorized request asks.
    pub async fn access_grant(
        &self,
        jti: &str,
    ) -> Result<Option<(AccessGrant, Tenant)>, StoreError> {
        let row = sqlx::query(
            "SELECT g.jti, g.tenant_id, g.client_id, g.subject, g.scope, g.patient_id, \
             g.fhir_user, g.issued_at, g.expires_at, g.revoked, \
             t.org_number, t.name, t.municipality_number, t.is_test, g.authorization_id, g.jkt, \
             t.write_validation \
             FROM access_grants g JOIN tenants t ON t.id = g.tenant_id WHERE g.jti = $1",
        )
        .bind(jti)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| {
            let grant = AccessGrant {
                jti: r.get(0),
                tenant_id: r.get(1),
                client_id: r.get(2),
                subject: r.get(3),
                scope: r.get(4),
                patient_id: r.get(5),
                fhir_user: r.get(6),
                issued_at: r.get(7),
                expires_at: r.get(8),
                revoked: flag(&r, 9),
                authorization_id: r.get(14),
                jkt: r.get(15),
            };
            let tenant = Tenant {
                id: grant.tenant_id.clone(),
                org_number: r.get(10),
                name: r.get(11),
                municipality_number: r.get(12),
                is_test: flag(&r, 13),
                write_validation: ValidationLevel::read(r.get(16)),
            };
            (grant, tenant)
        }))
    }

    /// Revokes a token; `false` when there was none by that id.
    pub async fn revoke_access_grant(&self, jti: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE access_grants SET revoked = TRUE WHERE jti = $1")
            .bind(jti)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

impl Store {
    /// Records a DPoP proof's `jti`; `false` when it was seen before (a replay). Entries
    /// past their window are dropped on the way.
    pub async fn use_dpop_proof(&self, jti: &str, expires_at: i64) -> Result<bool, StoreError> {
        sqlx::query("DELETE FROM dpop_proofs WHERE expires_at < $1")
            .bind(now_micros() / 1_000_000)
            .execute(self.pool())
            .await?;
        let done = sqlx::query(
            "INSERT INTO dpop_proofs (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
        )
        .bind(jti)
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
