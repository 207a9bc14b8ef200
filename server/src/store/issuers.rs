//! Trusted external token issuers, and the practitioner an HPR number names.

use sqlx::Row;

use super::{now_micros, Store, StoreError};

#[derive(Debug, Clone)]
pub struct TrustedIssuer {
    pub issuer: String,
    pub jwks_uri: String,
    pub audience: String,
    pub tenant_id: Option<String>,
}

impl Store {
    pub async fn add_trusted_issuer(&self, t: &TrustedIssuer) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO trusted_issuers (issuer, jwks_uri, audience, tenant_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (issuer) DO UPDATE SET \
             jwks_uri = excluded.jwks_uri, audience = excluded.audience, tenant_id = excluded.tenant_id",
        )
        .bind(&t.issuer)
        .bind(&t.jwks_uri)
        .bind(&t.audience)
        .bind(t.tenant_id.as_deref())
        .bind(now_micros())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn trusted_issuer(&self, issuer: &str) -> Result<Option<TrustedIssuer>, StoreError> {
        let row = sqlx::query(
            "SELECT issuer, jwks_uri, audience, tenant_id FROM trusted_issuers WHERE issuer = $1",
        )
        .bind(issuer)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| TrustedIssuer {
            issuer: r.get(0),
            jwks_uri: r.get(1),
            audience: r.get(2),
            tenant_id: r.get(3),
        }))
    }

    /// The id of the tenant's (not deleted) practitioner with this HPR number.
    pub async fn practitioner_by_hpr(
        &self,
        tenant_id: &str,
        hpr_number: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT id FROM practitioners WHERE tenant_id = $1 AND hpr_number = $2 AND deleted = FALSE \
             ORDER BY id LIMIT 1",
        )
        .bind(tenant_id)
        .bind(hpr_number)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// The HPR number of the tenant's practitioner `id`, if registered.
    pub async fn practitioner_hpr(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT hpr_number FROM practitioners WHERE tenant_id = $1 AND id = $2 AND deleted = FALSE",
        )
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.and_then(|r| r.get(0)))
    }
}
