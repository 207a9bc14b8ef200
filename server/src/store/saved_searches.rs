//! Search parameters kept server-side for the paging links of POST searches.

use sqlx::Row;

use super::{now_micros, Store, StoreError};

/// Saved searches older than this are removed; their links then answer 410.
const LIFETIME_MICROS: i64 = 24 * 3600 * 1_000_000;

impl Store {
    pub async fn save_search(
        &self,
        tenant_id: &str,
        resource_type: &str,
        params: &[(String, String)],
    ) -> Result<String, StoreError> {
        let now = now_micros();
        sqlx::query("DELETE FROM saved_searches WHERE created_at < $1")
            .bind(now - LIFETIME_MICROS)
            .execute(self.pool())
            .await?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        // The parameters may hold a national identity number: sealed like the records.
        let sealed = self
            .seal(
                tenant_id,
                &serde_json::to_string(params).expect("pairs serialize"),
            )
            .await?;
        sqlx::query(
            "INSERT INTO saved_searches (id, tenant_id, resource_type, params, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(tenant_id)
        .bind(resource_type)
        .bind(sealed)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(id)
    }

    /// The saved parameters, only for the tenant and type that saved them.
    pub async fn saved_search(
        &self,
        tenant_id: &str,
        resource_type: &str,
        id: &str,
    ) -> Result<Option<Vec<(String, String)>>, StoreError> {
        let row = sqlx::query(
            "SELECT params FROM saved_searches WHERE id = $1 AND tenant_id = $2 AND resource_type = $3 AND created_at >= $4",
        )
        .bind(id)
        .bind(tenant_id)
        .bind(resource_type)
        .bind(now_micros() - LIFETIME_MICROS)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let params = self.unseal(tenant_id, row.get(0)).await?;
        Ok(serde_json::from_str(&params).ok())
    }
}
