//! Erasing a patient on the controller's request: every record and resource version of
//! the patient's compartment, their index rows, care relationships, tokens and pending
//! authorizations, in one transaction with the access-log row that records the erasure.
//! The log keeps its rows: they hold ids and parameter names, never the erased content.

use sqlx::Row;

use super::audit::AuditRecord;
use super::write::{WriteTx, INDEX_TABLES};
use super::{Backend, Store, StoreError};
use crate::served::ServedType;

/// Ids per statement.
const CHUNK: usize = 100;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Erased {
    pub resources: u64,
    pub versions: u64,
}

impl Store {
    /// Erases patient `patient_id` of `tenant_id`; `None` when there is no such patient.
    pub async fn erase_patient(
        &self,
        tenant_id: &str,
        patient_id: &str,
        audit: &AuditRecord,
    ) -> Result<Option<Erased>, StoreError> {
        let mut tx = self.begin_write().await?;
        let exists = sqlx::query(
            "SELECT 1 FROM resources WHERE tenant_id = $1 AND resource_type = 'Patient' AND id = $2",
        )
        .bind(tenant_id)
        .bind(patient_id)
        .fetch_optional(&mut *tx.tx)
        .await?
        .is_some();
        if !exists {
            return Ok(None);
        }
        let mut erased = Erased::default();
        // The Patient last, as the others point to it.
        for served in ServedType::PATIENT_RECORD.into_iter().rev() {
            let ids: Vec<String> = if served == ServedType::Patient {
                vec![patient_id.to_string()]
            } else {
                // The platform records name their patient, also when deleted.
                sqlx::query(&format!(
                    "SELECT id FROM {} WHERE tenant_id = $1 AND patient_id = $2",
                    served.record_table()
                ))
                .bind(tenant_id)
                .bind(patient_id)
                .fetch_all(&mut *tx.tx)
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect()
            };
            for chunk in ids.chunks(CHUNK) {
                let (r, v) = tx.erase_resources(tenant_id, served, chunk).await?;
                erased.resources += r;
                erased.versions += v;
            }
        }
        for (table, column) in [
            ("journal_notes", "patient_id"),
            ("care_relationships", "patient_id"),
            ("access_grants", "patient_id"),
            ("refresh_tokens", "patient_id"),
            ("authorizations", "patient_id"),
            ("launch_contexts", "patient_id"),
        ] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE tenant_id = $1 AND {column} = $2"
            ))
            .bind(tenant_id)
            .bind(patient_id)
            .execute(&mut *tx.tx)
            .await?;
        }
        // Saved searches are paging handles whose parameters may hold the patient's
        // number or name; the tenant's are dropped (their links stop working).
        sqlx::query("DELETE FROM saved_searches WHERE tenant_id = $1")
            .bind(tenant_id)
            .execute(&mut *tx.tx)
            .await?;
        tx.append_audit(std::slice::from_ref(audit)).await?;
        let backend = tx.backend;
        tx.commit().await?;
        // Planner statistics sample index keys (SQLite's sqlite_stat4, PostgreSQL's
        // pg_statistic): they would keep the erased national identity number.
        self.analyze().await?;
        if backend == Backend::Sqlite {
            // Old page images of the erased rows stay in the write-ahead log until a
            // checkpoint copies the overwritten pages back and empties it.
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(self.pool())
                .await?;
        }
        Ok(Some(erased))
    }
}

/// `sql` with the tenant, optionally the type, then `ids` bound in that order.
fn bound<'q>(
    sql: &'q str,
    tenant_id: &str,
    resource_type: Option<&str>,
    ids: &[String],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let mut q = sqlx::query(sql).bind(tenant_id.to_string());
    if let Some(t) = resource_type {
        q = q.bind(t.to_string());
    }
    for id in ids {
        q = q.bind(id.clone());
    }
    q
}

/// `$first, $first+1, …` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (0..n)
        .map(|i| format!("${}", i + first))
        .collect::<Vec<_>>()
        .join(", ")
}

impl WriteTx {
    /// Removes resources of one type, every version, their index rows and their records.
    async fn erase_resources(
        &mut self,
        tenant_id: &str,
        served: ServedType,
        ids: &[String],
    ) -> Result<(u64, u64), StoreError> {
        let rtype = Some(served.name());
        let list = placeholders(3, ids.len());
        let seqs_sql = format!(
            "SELECT seq FROM resources WHERE tenant_id = $1 AND resource_type = $2 AND id IN ({list})"
        );
        let seqs: Vec<i64> = bound(&seqs_sql, tenant_id, rtype, ids)
            .fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if !seqs.is_empty() {
            let seq_list = seqs
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            for table in INDEX_TABLES {
                sqlx::query(&format!(
                    "DELETE FROM {table} WHERE resource_seq IN ({seq_list})"
                ))
                .execute(&mut *self.tx)
                .await?;
            }
        }
        let versions_sql = format!(
            "DELETE FROM resource_versions WHERE tenant_id = $1 AND resource_type = $2 AND id IN ({list})"
        );
        let versions = bound(&versions_sql, tenant_id, rtype, ids)
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        let resources_sql = format!(
            "DELETE FROM resources WHERE tenant_id = $1 AND resource_type = $2 AND id IN ({list})"
        );
        let resources = bound(&resources_sql, tenant_id, rtype, ids)
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        // The record tables have no type column.
        let records_sql = format!(
            "DELETE FROM {} WHERE tenant_id = $1 AND id IN ({})",
            served.record_table(),
            placeholders(2, ids.len())
        );
        bound(&records_sql, tenant_id, None, ids)
            .execute(&mut *self.tx)
            .await?;
        Ok((resources, versions))
    }
}
