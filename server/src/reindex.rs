//! `helsebro reindex`: rebuilds every current resource's search index rows from its stored
//! JSON, so that parameters and index rows added by an upgrade (`:text` displays, `_profile`,
//! a new parameter) cover resources written before it. Batches of 500, each one transaction;
//! searches keep working throughout and see each batch whole.

use helsebro_conformance::registry::contained_index;
use serde_json::Value;
use sqlx::Row;

use crate::served::ServedType;
use crate::store::sql::Sql;
use crate::store::write::IndexRows;
use crate::store::{Store, StoreError};

const BATCH: i64 = 500;

/// Reindexes every tenant's current resources; `progress` hears the running count.
/// Returns how many resources were reindexed.
pub async fn reindex(store: &Store, mut progress: impl FnMut(u64)) -> Result<u64, StoreError> {
    let mut after = 0i64;
    let mut done = 0u64;
    loop {
        let mut sql = Sql::new(
            "SELECT seq, tenant_id, resource_type, json FROM resources \
             WHERE deleted = FALSE AND json IS NOT NULL AND seq > ",
        );
        sql.int(after).push(" ORDER BY seq LIMIT ").int(BATCH);
        let rows = sql.query().fetch_all(store.pool()).await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = last.get(0);
        let mut batch = Vec::with_capacity(rows.len());
        for row in &rows {
            let tenant_id: String = row.get(1);
            let resource_type: String = row.get(2);
            let Some(served) = ServedType::from_name(&resource_type) else {
                continue;
            };
            let json = store.unseal(&tenant_id, row.get(3)).await?;
            let resource: Value = serde_json::from_str(&json).unwrap_or(Value::Null);
            let index = served.def().index(&resource);
            let contained = contained_index(&resource);
            batch.push((
                row.get::<i64, _>(0),
                tenant_id,
                served.name(),
                index,
                contained,
            ));
        }
        let index_rows: Vec<IndexRows> = batch
            .iter()
            .map(
                |(seq, tenant_id, resource_type, index, contained)| IndexRows {
                    seq: *seq,
                    tenant_id,
                    resource_type,
                    index,
                    contained,
                    replace: true,
                },
            )
            .collect();
        let mut tx = store.begin_write().await?;
        tx.replace_index(&index_rows).await?;
        tx.commit().await?;
        done += index_rows.len() as u64;
        progress(done);
    }
    store.analyze().await?;
    Ok(done)
}
