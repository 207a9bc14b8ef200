//! Runs searches compiled by the FHIR layer.

use sqlx::Row;

use super::sql::Sql;
use super::{Store, StoreError};

/// A match: its paging position and its current JSON.
#[derive(Debug, Clone)]
pub struct Match {
    pub seq: i64,
    pub json: String,
}

impl Store {
    /// `sql` selects `seq, json` of `tenant_id`'s resources in page order.
    pub async fn search_page(&self, tenant_id: &str, sql: &Sql) -> Result<Vec<Match>, StoreError> {
        let rows = sql.query().fetch_all(self.pool()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(Match {
                seq: r.get(0),
                json: self.unseal(tenant_id, r.get(1)).await?,
            });
        }
        Ok(out)
    }

    /// `sql` selects a single count.
    pub async fn search_count(&self, sql: &Sql) -> Result<i64, StoreError> {
        Ok(sql.query().fetch_one(self.pool()).await?.get(0))
    }
}
