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
    /// `sql` selects `seq, json` in page order.
    pub async fn search_page(&self, sql: &Sql) -> Result<Vec<Match>, StoreError> {
        let rows = sql.query().fetch_all(self.pool()).await?;
        Ok(rows
            .iter()
            .map(|r| Match {
                seq: r.get(0),
                json: r.get(1),
            })
            .collect())
    }

    /// `sql` selects a single count.
    pub async fn search_count(&self, sql: &Sql) -> Result<i64, StoreError> {
        Ok(sql.query().fetch_one(self.pool()).await?.get(0))
    }
}
