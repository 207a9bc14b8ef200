//! Retention settings per tenant, and removing access-log rows past them.

use sqlx::Row;

use super::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionDays {
    pub audit: i64,
    pub delivery: i64,
}

impl Store {
    /// The tenant's settings, if it has chosen any.
    pub async fn retention(&self, tenant_id: &str) -> Result<Option<RetentionDays>, StoreError> {
        let row = sqlx::query(
            "SELECT audit_days, delivery_days FROM tenant_retention WHERE tenant_id = $1",
        )
        .bind(tenant_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| RetentionDays {
            audit: r.get(0),
            delivery: r.get(1),
        }))
    }

    pub async fn set_retention(
        &self,
        tenant_id: &str,
        days: RetentionDays,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO tenant_retention (tenant_id, audit_days, delivery_days) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id) DO UPDATE SET audit_days = excluded.audit_days, \
             delivery_days = excluded.delivery_days",
        )
        .bind(tenant_id)
        .bind(days.audit)
        .bind(days.delivery)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Removes the tenant's access-log rows recorded before `cutoff` (microseconds), as a
    /// prefix of the chain: the hash of the last removed row becomes the chain's base, so
    /// the rows that remain still verify. Returns how many rows went.
    pub async fn expire_audit(&self, tenant_id: &str, cutoff: i64) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        // The newest row past the cutoff; everything up to it goes.
        let last = sqlx::query(
            "SELECT seq, hash FROM audit_events WHERE tenant_id = $1 AND recorded < $2 \
             ORDER BY seq DESC LIMIT 1",
        )
        .bind(tenant_id)
        .bind(cutoff)
        .fetch_optional(&mut *tx.tx)
        .await?;
        let Some(last) = last else {
            return Ok(0);
        };
        let (seq, hash): (i64, String) = (last.get(0), last.get(1));
        sqlx::query(
            "DELETE FROM audit_patients WHERE tenant_id = $1 AND audit_id IN \
             (SELECT id FROM audit_events WHERE tenant_id = $1 AND seq <= $2)",
        )
        .bind(tenant_id)
        .bind(seq)
        .execute(&mut *tx.tx)
        .await?;
        let removed = sqlx::query("DELETE FROM audit_events WHERE tenant_id = $1 AND seq <= $2")
            .bind(tenant_id)
            .bind(seq)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        sqlx::query("UPDATE audit_heads SET base_hash = $2 WHERE tenant_id = $1")
            .bind(tenant_id)
            .bind(&hash)
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await?;
        Ok(removed)
    }

    /// The hash a tenant's first remaining row follows: empty until retention removed rows.
    pub async fn audit_base(&self, tenant_id: &str) -> Result<String, StoreError> {
        let row = sqlx::query("SELECT base_hash FROM audit_heads WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.get(0)).unwrap_or_default())
    }

    /// Every tenant id.
    pub async fn tenant_ids(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT id FROM tenants ORDER BY id")
            .fetch_all(self.pool())
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}
