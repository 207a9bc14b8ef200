//! Version history at instance, type and system level, newest first.

use super::resources::{version_from_row, StoredVersion};
use super::sql::Sql;
use super::{Store, StoreError};
use sqlx::Row;

#[derive(Debug, Clone, Default)]
pub struct HistoryQuery<'a> {
    pub tenant_id: &'a str,
    pub resource_type: Option<&'a str>,
    pub id: Option<&'a str>,
    /// Only versions changed at or after this instant (µs).
    pub since: Option<i64>,
    /// Only versions that were current at some moment of `[low, high]` (µs), `_at`.
    pub at: Option<(i64, i64)>,
    /// Continue below this history position (the paging cursor).
    pub before_seq: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub version: StoredVersion,
    pub method: String,
    pub created: bool,
}

impl HistoryQuery<'_> {
    fn filter(&self, with_cursor: bool) -> Sql {
        let mut sql = Sql::new(" FROM resource_versions v WHERE tenant_id = ");
        sql.text(self.tenant_id);
        if let Some(t) = self.resource_type {
            sql.push(" AND resource_type = ").text(t);
        }
        if let Some(id) = self.id {
            sql.push(" AND id = ").text(id);
        }
        if let Some(since) = self.since {
            sql.push(" AND last_updated >= ").int(since);
        }
        if let Some((low, high)) = self.at {
            // Current from its own change until the next version's, which must not come
            // before the period starts.
            sql.push(" AND last_updated <= ").int(high).push(
                " AND NOT EXISTS (SELECT 1 FROM resource_versions n WHERE n.tenant_id = v.tenant_id \
                 AND n.resource_type = v.resource_type AND n.id = v.id AND n.version > v.version \
                 AND n.last_updated <= ",
            );
            sql.int(low).push(")");
        }
        if let (true, Some(seq)) = (with_cursor, self.before_seq) {
            sql.push(" AND seq < ").int(seq);
        }
        sql
    }
}

impl Store {
    pub async fn history(
        &self,
        q: &HistoryQuery<'_>,
        count: i64,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let mut sql =
            Sql::new("SELECT seq, resource_type, id, version, last_updated, method, json, created");
        sql.append(&q.filter(true));
        sql.push(" ORDER BY seq DESC LIMIT ").int(count);
        let rows = sql.query().fetch_all(self.pool()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut version = version_from_row(r);
            // A system history spans no other tenant: the query is the tenant's.
            version.json = self.unseal_opt(q.tenant_id, version.json).await?;
            out.push(HistoryEntry {
                version,
                method: r.get(5),
                created: super::flag(r, 7),
            });
        }
        Ok(out)
    }

    pub async fn history_total(&self, q: &HistoryQuery<'_>) -> Result<i64, StoreError> {
        let mut sql = Sql::new("SELECT COUNT(*)");
        sql.append(&q.filter(false));
        Ok(sql.query().fetch_one(self.pool()).await?.get(0))
    }
}
