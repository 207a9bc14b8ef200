//! Erasing a patient on the controller's request: every record and resource version of
//! the patient's compartment, their index rows, care relationships, tokens and pending
//! authorizations, in one transaction with the access-log row that records the erasure.
//! The log keeps its rows: they hold ids and parameter names, never the erased content.

use sqlx::Row;

use super::audit::AuditRecord;
use super::sql::Sql;
use super::write::{id_list, WriteTx};
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
        let sending = sqlx::query(
            "SELECT 1 FROM deliveries WHERE tenant_id = $1 AND patient_id = $2 \
             AND final_at IS NULL LIMIT 1",
        )
        .bind(tenant_id)
        .bind(patient_id)
        .fetch_optional(&mut *tx.tx)
        .await?;
        if sending.is_some() {
            // The document on its way would arrive with nothing behind it to answer for it.
            return Err(StoreError::Refused(format!(
                "Patient/{patient_id} has a document delivery in progress; erase when it is final"
            )));
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
            ("alerts", "patient_id"),
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
        tx.remove_exports_of(tenant_id, patient_id).await?;
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
            self.flush_wal().await?;
        }
        Ok(Some(erased))
    }
}

impl WriteTx {
    /// Removes resources of one type, every version, their index rows and their records.
    async fn erase_resources(
        &mut self,
        tenant_id: &str,
        served: ServedType,
        ids: &[String],
    ) -> Result<(u64, u64), StoreError> {
        // `FROM table WHERE tenant_id = … [AND resource_type = …] AND id IN (…)`
        let rows_of = |prefix: &str, table: &str, typed: bool| {
            let mut sql = Sql::new(&format!("{prefix} {table} WHERE tenant_id = "));
            sql.text(tenant_id);
            if typed {
                sql.push(" AND resource_type = ").text(served.name());
            }
            sql.push(" AND id IN (")
                .append(&id_list(ids.iter().map(String::as_str)))
                .push(")");
            sql
        };
        let seqs: Vec<i64> = rows_of("SELECT seq FROM", "resources", true)
            .query()
            .fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        self.delete_index_rows(&seqs).await?;
        let versions = rows_of("DELETE FROM", "resource_versions", true)
            .query()
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        let resources = rows_of("DELETE FROM", "resources", true)
            .query()
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        // The record tables have no type column.
        rows_of("DELETE FROM", served.record_table(), false)
            .query()
            .execute(&mut *self.tx)
            .await?;
        Ok((resources, versions))
    }
}
