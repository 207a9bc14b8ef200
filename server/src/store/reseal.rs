//! Key rotation: a new key version for a tenant, then every sealed (or not yet sealed)
//! value of the tenant re-sealed with it, in batches, each batch one transaction.

use sqlx::Row;

use super::{Store, StoreError};

/// Every sealed column: table, the columns that identify a row, the sealed column.
const SEALED: &[(&str, &[&str], &str)] = &[
    ("resources", &["seq"], "json"),
    ("resource_versions", &["seq"], "json"),
    ("patients", &["id"], "national_id"),
    ("practitioners", &["id"], "national_id"),
    ("messages", &["id"], "text"),
    ("journal_notes", &["id", "version"], "title"),
    ("journal_notes", &["id", "version"], "text"),
    ("alerts", &["id"], "detail"),
    ("deliveries", &["id"], "content"),
    ("received_documents", &["id"], "content"),
    ("received_documents", &["id"], "apprec"),
    ("saved_searches", &["id"], "params"),
];

const BATCH: i64 = 500;

impl Store {
    /// Rotates the tenant's data key and re-seals everything with the new version.
    /// Returns the new version and how many values were re-sealed.
    pub async fn rotate_tenant_key(&self, tenant_id: &str) -> Result<(i64, u64), StoreError> {
        let version = self.add_tenant_key_version(tenant_id).await?;
        let current = format!("enc1:{version}:%");
        let mut resealed = 0;
        for (table, keys, column) in SEALED {
            loop {
                let key_list = keys.join(", ");
                let rows = sqlx::query(&format!(
                    "SELECT {key_list}, {column} FROM {table} WHERE tenant_id = $1 \
                     AND {column} IS NOT NULL AND {column} NOT LIKE $2 LIMIT {BATCH}"
                ))
                .bind(tenant_id)
                .bind(&current)
                .fetch_all(self.pool())
                .await?;
                if rows.is_empty() {
                    break;
                }
                let mut tx = self.begin_write().await?;
                for row in &rows {
                    let stored: String = row.get(keys.len());
                    let plain = self.unseal(tenant_id, stored).await?;
                    let sealed = self.seal(tenant_id, &plain).await?;
                    let condition = keys
                        .iter()
                        .enumerate()
                        .map(|(i, k)| format!("{k} = ${}", i + 3))
                        .collect::<Vec<_>>()
                        .join(" AND ");
                    let sql = format!(
                        "UPDATE {table} SET {column} = $1 WHERE tenant_id = $2 AND {condition}"
                    );
                    let mut update = sqlx::query(&sql).bind(sealed).bind(tenant_id);
                    for (i, key) in keys.iter().enumerate() {
                        update = match *key {
                            "seq" | "version" => update.bind(row.get::<i64, _>(i)),
                            _ => update.bind(row.get::<String, _>(i)),
                        };
                    }
                    update.execute(&mut *tx.tx).await?;
                    resealed += 1;
                }
                tx.commit().await?;
            }
        }
        Ok((version, resealed))
    }
}
