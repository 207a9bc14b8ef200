//! Runs searches compiled by the FHIR layer.

use sqlx::Row;

use super::sql::Sql;
use super::{Backend, Store, StoreError};

/// A match: its paging position, its current JSON, its type and id.
#[derive(Debug, Clone)]
pub struct Match {
    pub seq: i64,
    pub json: String,
    pub resource_type: String,
    pub id: String,
    /// A contained resource's container, `(type, id)`; `json` is then the container's.
    pub container: Option<(String, String)>,
}

impl Store {
    /// `sql` selects `seq, json, resource_type, id` of `tenant_id`'s resources in page order,
    /// and for contained resources their container's type and id.
    pub async fn search_page(&self, tenant_id: &str, sql: &Sql) -> Result<Vec<Match>, StoreError> {
        let rows = sql.search_query().fetch_all(self.pool()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(Match {
                seq: r.get(0),
                json: self.unseal(tenant_id, r.get(1)).await?,
                resource_type: r.get(2),
                id: r.get(3),
                container: if r.len() > 5 {
                    r.get::<Option<String>, _>(4)
                        .zip(r.get::<Option<String>, _>(5))
                } else {
                    None
                },
            });
        }
        Ok(out)
    }

    /// `sql` selects a single count.
    pub async fn search_count(&self, sql: &Sql) -> Result<i64, StoreError> {
        Ok(sql.search_query().fetch_one(self.pool()).await?.get(0))
    }

    /// How many rows `sql` (a `SELECT 1 …`) gives, as the planner estimates it on
    /// PostgreSQL; SQLite keeps no such estimate, so there it counts.
    pub async fn search_estimate(&self, sql: &Sql) -> Result<i64, StoreError> {
        let wrap = |prefix: &str, suffix: &str| {
            let mut out = Sql::new(prefix);
            out.append(sql).push(suffix);
            out
        };
        if self.backend() != Backend::Postgres {
            return self
                .search_count(&wrap("SELECT COUNT(*) FROM (", ") AS m"))
                .await;
        }
        let rows = wrap("EXPLAIN ", "")
            .search_query()
            .fetch_all(self.pool())
            .await?;
        // The top plan line: `Index Scan … (cost=… rows=N width=…)`.
        let estimate = rows
            .first()
            .and_then(|r| r.try_get::<String, _>(0).ok())
            .and_then(|line| {
                let rows = line.split("rows=").nth(1)?.split(' ').next()?.to_string();
                rows.parse::<i64>().ok()
            });
        match estimate {
            Some(n) => Ok(n),
            None => {
                self.search_count(&wrap("SELECT COUNT(*) FROM (", ") AS m"))
                    .await
            }
        }
    }

    /// `sql` selects two text columns, e.g. the `(type, id)` a set of resources refers to.
    pub async fn search_pairs(&self, sql: &Sql) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sql.search_query().fetch_all(self.pool()).await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}
