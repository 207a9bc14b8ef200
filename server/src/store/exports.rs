//! Bulk Data export jobs and their files (`export_jobs`, `export_files`): kick-off,
//! status, leases for the worker, and removal. The plan, the request URL and every file's
//! content are sealed with the tenant's data key, as resources are.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql::Sql;
use super::{now_micros, Backend, Store, StoreError, WriteTx};

/// A job as kicked off.
pub struct NewJob<'a> {
    pub id: &'a str,
    pub tenant_id: &'a str,
    pub client_id: &'a str,
    pub request_url: &'a str,
    pub base_url: &'a str,
    pub level: &'a str,
    /// The plan (`export::Plan` as JSON), sealed here.
    pub plan: &'a str,
    pub since: Option<i64>,
    pub transaction_time: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Queued,
    Running,
    Complete,
    Failed,
}

impl JobStatus {
    fn parse(s: &str) -> JobStatus {
        match s {
            "running" => JobStatus::Running,
            "complete" => JobStatus::Complete,
            "failed" => JobStatus::Failed,
            _ => JobStatus::Queued,
        }
    }
}

/// What the status endpoint shows of a job.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub tenant_id: String,
    pub client_id: String,
    pub request_url: String,
    pub status: JobStatus,
    pub error: Option<String>,
    pub transaction_time: i64,
    pub written: i64,
}

/// A job a worker holds the lease of, with what it needs to go on.
#[derive(Debug, Clone)]
pub struct LeasedJob {
    pub id: String,
    pub tenant_id: String,
    pub base_url: String,
    /// Unsealed.
    pub plan: String,
    pub since: Option<i64>,
    pub transaction_time: i64,
    pub cursor_type: i64,
    pub cursor_seq: i64,
    pub files: i64,
    pub written: i64,
}

/// A file's metadata, for the manifest.
#[derive(Debug, Clone)]
pub struct FileInfo {
    pub id: String,
    pub resource_type: String,
    pub count: i64,
}

/// A file as downloaded: its NDJSON and whose data it carries.
pub struct ExportFile {
    pub resource_type: String,
    pub content: String,
    pub patients: Vec<String>,
}

/// A finished file and where the job stands after it.
pub struct NewFile<'a> {
    pub resource_type: &'a str,
    pub count: i64,
    pub patients: &'a [String],
    pub content: &'a str,
    pub cursor_type: i64,
    pub cursor_seq: i64,
}

/// One resource as the export reads it.
#[derive(Debug, Clone)]
pub struct ExportRow {
    pub seq: i64,
    pub id: String,
    pub last_updated: i64,
    /// Still sealed: opened only for the rows the export keeps.
    pub json: Option<String>,
}

const JOB_COLUMNS: &str =
    "id, tenant_id, client_id, request_url, status, error, transaction_time, written";

impl Store {
    pub async fn create_export_job(&self, j: &NewJob<'_>) -> Result<(), StoreError> {
        let plan = self.seal(j.tenant_id, j.plan).await?;
        let url = self.seal(j.tenant_id, j.request_url).await?;
        let mut sql = Sql::new(
            "INSERT INTO export_jobs (id, tenant_id, client_id, request_url, base_url, level, \
             plan, since, transaction_time, status, created_at, expires_at) VALUES (",
        );
        sql.text(j.id)
            .push(", ")
            .text(j.tenant_id)
            .push(", ")
            .text(j.client_id)
            .push(", ")
            .text(url)
            .push(", ")
            .text(j.base_url)
            .push(", ")
            .text(j.level)
            .push(", ")
            .text(plan)
            .push(", ");
        match j.since {
            Some(s) => sql.int(s),
            None => sql.bind(super::sql::Arg::Null),
        };
        sql.push(", ")
            .int(j.transaction_time)
            .push(", 'queued', ")
            .int(now_micros())
            .push(", ")
            .int(j.expires_at)
            .push(")");
        self.write_one(&sql).await?;
        Ok(())
    }

    /// The job, if it belongs to this tenant and client and has not expired.
    pub async fn export_job(
        &self,
        tenant_id: &str,
        client_id: &str,
        id: &str,
    ) -> Result<Option<Job>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM export_jobs WHERE tenant_id = $1 AND client_id = $2 \
             AND id = $3 AND expires_at > $4"
        ))
        .bind(tenant_id)
        .bind(client_id)
        .bind(id)
        .bind(now_micros())
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(Job {
            id: r.get(0),
            tenant_id: r.get(1),
            client_id: r.get(2),
            request_url: self.unseal(tenant_id, r.get(3)).await?,
            status: JobStatus::parse(&r.get::<String, _>(4)),
            error: r.get(5),
            transaction_time: r.get(6),
            written: r.get(7),
        }))
    }

    /// The files of a job, in the order they were written.
    pub async fn export_files(&self, job_id: &str) -> Result<Vec<FileInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, resource_type, count FROM export_files WHERE job_id = $1 ORDER BY seq",
        )
        .bind(job_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| FileInfo {
                id: r.get(0),
                resource_type: r.get(1),
                count: r.get(2),
            })
            .collect())
    }

    /// A file of job `job_id`, if the job is this tenant's and client's, complete and
    /// not expired.
    pub async fn export_file(
        &self,
        tenant_id: &str,
        client_id: &str,
        job_id: &str,
        file_id: &str,
    ) -> Result<Option<ExportFile>, StoreError> {
        let row = sqlx::query(
            "SELECT f.resource_type, f.content, f.patients FROM export_files f \
             JOIN export_jobs j ON j.id = f.job_id \
             WHERE f.id = $1 AND f.job_id = $2 AND f.tenant_id = $3 AND j.tenant_id = $3 \
             AND j.client_id = $4 AND j.status = 'complete' AND j.expires_at > $5",
        )
        .bind(file_id)
        .bind(job_id)
        .bind(tenant_id)
        .bind(client_id)
        .bind(now_micros())
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let patients: String = r.get(2);
        Ok(Some(ExportFile {
            resource_type: r.get(0),
            content: self.unseal(tenant_id, r.get(1)).await?,
            patients: patients
                .split(',')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
        }))
    }

    /// Removes a job and its files (cancelled by its client). Returns whether it existed.
    pub async fn delete_export_job(
        &self,
        tenant_id: &str,
        client_id: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let mut which = Sql::new("tenant_id = ");
        which
            .text(tenant_id)
            .push(" AND client_id = ")
            .text(client_id)
            .push(" AND id = ")
            .text(id);
        Ok(self.remove_export_jobs(&which).await? > 0)
    }

    /// Removes the jobs (and files) that expired by `now`; returns how many.
    pub async fn expire_export_jobs(&self, now: i64) -> Result<u64, StoreError> {
        let mut which = Sql::new("expires_at <= ");
        which.int(now);
        self.remove_export_jobs(&which).await
    }

    /// Removes the jobs `which` (a condition on `export_jobs`) selects, with their files.
    async fn remove_export_jobs(&self, which: &Sql) -> Result<u64, StoreError> {
        let mut files =
            Sql::new("DELETE FROM export_files WHERE job_id IN (SELECT id FROM export_jobs WHERE ");
        files.append(which).push(")");
        let mut jobs = Sql::new("DELETE FROM export_jobs WHERE ");
        jobs.append(which);
        let mut tx = self.begin_write().await?;
        files.query().execute(&mut *tx.tx).await?;
        let n = jobs.query().execute(&mut *tx.tx).await?.rows_affected();
        tx.commit().await?;
        if n > 0 {
            // The files' pages must not linger in SQLite's log.
            self.flush_wal().await?;
        }
        Ok(n)
    }

    /// Leases one unfinished job whose lease is free or ran out to `owner` until
    /// `lease_until`. PostgreSQL skips rows another instance is leasing; SQLite has one
    /// writer.
    pub async fn lease_export_job(
        &self,
        owner: &str,
        lease_until: i64,
    ) -> Result<Option<LeasedJob>, StoreError> {
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "UPDATE export_jobs SET lease_owner = $1, lease_until = $2, status = 'running' \
             WHERE id IN (SELECT id FROM export_jobs WHERE status IN ('queued', 'running') \
             AND (lease_until IS NULL OR lease_until < $3) AND expires_at > $3 \
             ORDER BY created_at LIMIT 1{lock}) \
             RETURNING id, tenant_id, base_url, plan, since, transaction_time, cursor_type, \
             cursor_seq, files, written"
        ))
        .bind(owner)
        .bind(lease_until)
        .bind(now_micros())
        .fetch_optional(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        let Some(r) = row else { return Ok(None) };
        let tenant_id: String = r.get(1);
        Ok(Some(LeasedJob {
            id: r.get(0),
            plan: self.unseal(&tenant_id, r.get(3)).await?,
            tenant_id,
            base_url: r.get(2),
            since: r.get(4),
            transaction_time: r.get(5),
            cursor_type: r.get(6),
            cursor_seq: r.get(7),
            files: r.get(8),
            written: r.get(9),
        }))
    }

    /// Stores a file and moves the job's cursor past it, if `owner` still holds the lease
    /// (and the job still exists); the lease is extended to `lease_until`. Returns whether
    /// it was stored.
    pub async fn store_export_file(
        &self,
        job: &LeasedJob,
        owner: &str,
        lease_until: i64,
        f: &NewFile<'_>,
    ) -> Result<bool, StoreError> {
        let content = self.seal(&job.tenant_id, f.content).await?;
        let mut tx = self.begin_write().await?;
        let moved = sqlx::query(
            "UPDATE export_jobs SET cursor_type = $3, cursor_seq = $4, files = files + 1, \
             written = written + $5, lease_until = $6 WHERE id = $1 AND lease_owner = $2",
        )
        .bind(&job.id)
        .bind(owner)
        .bind(f.cursor_type)
        .bind(f.cursor_seq)
        .bind(f.count)
        .bind(lease_until)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if moved == 0 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO export_files (id, job_id, tenant_id, resource_type, seq, count, \
             patients, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(uuid::Uuid::new_v4().simple().to_string())
        .bind(&job.id)
        .bind(&job.tenant_id)
        .bind(f.resource_type)
        .bind(job.files)
        .bind(f.count)
        .bind(f.patients.join(","))
        .bind(content)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Moves the cursor without a file (a type with nothing to export, or a page whose
    /// rows all changed after the transaction time); extends the lease.
    pub async fn move_export_cursor(
        &self,
        job_id: &str,
        owner: &str,
        lease_until: i64,
        cursor: (i64, i64),
    ) -> Result<bool, StoreError> {
        let mut sql = Sql::new("UPDATE export_jobs SET cursor_type = ");
        sql.int(cursor.0)
            .push(", cursor_seq = ")
            .int(cursor.1)
            .push(", lease_until = ")
            .int(lease_until);
        Ok(self.write_one(&owned(sql, job_id, owner)).await? > 0)
    }

    /// Extends `owner`'s lease of a job without moving its cursor (a long read that has
    /// not filled a file yet). Returns whether `owner` still holds it.
    pub async fn renew_export_lease(
        &self,
        job_id: &str,
        owner: &str,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        let mut sql = Sql::new("UPDATE export_jobs SET lease_until = ");
        sql.int(lease_until);
        Ok(self.write_one(&owned(sql, job_id, owner)).await? > 0)
    }

    /// Ends a job: `complete`, or `failed` with the reason. Only while `owner` holds it.
    pub async fn finish_export_job(
        &self,
        job_id: &str,
        owner: &str,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let status = if error.is_some() {
            "failed"
        } else {
            "complete"
        };
        let mut sql = Sql::new("UPDATE export_jobs SET status = ");
        sql.text(status)
            .push(", completed_at = ")
            .int(now_micros())
            .push(", error = ");
        match error {
            Some(e) => sql.text(e),
            None => sql.bind(super::sql::Arg::Null),
        };
        sql.push(", lease_owner = NULL, lease_until = NULL");
        Ok(self.write_one(&owned(sql, job_id, owner)).await? > 0)
    }

    /// Runs one statement in a write transaction; returns the rows it changed.
    async fn write_one(&self, sql: &Sql) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sql.query().execute(&mut *tx.tx).await?.rows_affected();
        tx.commit().await?;
        Ok(n)
    }

    /// Up to `limit` current resources of one type after `after` in `seq` order, within
    /// `filter` (a condition on `r`, from the search compiler) when given, and changed
    /// after `since` when given.
    pub async fn export_page(
        &self,
        tenant_id: &str,
        resource_type: &str,
        after: i64,
        since: Option<i64>,
        filter: Option<&Sql>,
        limit: i64,
    ) -> Result<Vec<ExportRow>, StoreError> {
        let mut sql = Sql::new(
            "SELECT r.seq, r.id, r.last_updated, r.json FROM resources r WHERE r.tenant_id = ",
        );
        sql.text(tenant_id)
            .push(" AND r.resource_type = ")
            .text(resource_type)
            .push(" AND r.deleted = FALSE AND r.seq > ")
            .int(after);
        if let Some(s) = since {
            sql.push(" AND r.last_updated > ").int(s);
        }
        if let Some(f) = filter {
            sql.push(" AND (").append(f).push(")");
        }
        sql.push(" ORDER BY r.seq LIMIT ").int(limit);
        let rows = sql.search_query().fetch_all(self.pool()).await?;
        Ok(rows.iter().map(export_row).collect())
    }

    /// The version of a resource that was current at `at`, unsealed; `None` if it did not
    /// exist then or was deleted.
    pub async fn version_at(
        &self,
        tenant_id: &str,
        resource_type: &str,
        id: &str,
        at: i64,
    ) -> Result<Option<(i64, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT last_updated, method, json FROM resource_versions WHERE tenant_id = $1 \
             AND resource_type = $2 AND id = $3 AND last_updated <= $4 \
             ORDER BY version DESC LIMIT 1",
        )
        .bind(tenant_id)
        .bind(resource_type)
        .bind(id)
        .bind(at)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let method: String = r.get(1);
        let json: Option<String> = r.get(2);
        match json {
            Some(json) if method != "DELETE" => {
                Ok(Some((r.get(0), self.unseal(tenant_id, json).await?)))
            }
            _ => Ok(None),
        }
    }
}

impl WriteTx {
    /// Removes the tenant's export jobs with a file that carries the patient's data (an
    /// erasure): their manifests would otherwise point to what may no longer exist.
    pub(super) async fn remove_exports_of(
        &mut self,
        tenant_id: &str,
        patient_id: &str,
    ) -> Result<(), StoreError> {
        let jobs: Vec<String> = sqlx::query(
            "SELECT DISTINCT job_id FROM export_files WHERE tenant_id = $1 \
             AND (',' || patients || ',') LIKE $2",
        )
        .bind(tenant_id)
        .bind(format!("%,{patient_id},%"))
        .fetch_all(&mut *self.tx)
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
        for job in jobs {
            for statement in [
                "DELETE FROM export_files WHERE job_id = $1",
                "DELETE FROM export_jobs WHERE id = $1",
            ] {
                sqlx::query(statement)
                    .bind(&job)
                    .execute(&mut *self.tx)
                    .await?;
            }
        }
        Ok(())
    }
}

/// `update` restricted to job `job_id` while `owner` holds its lease.
fn owned(mut update: Sql, job_id: &str, owner: &str) -> Sql {
    update
        .push(" WHERE id = ")
        .text(job_id)
        .push(" AND lease_owner = ")
        .text(owner);
    update
}

fn export_row(r: &AnyRow) -> ExportRow {
    ExportRow {
        seq: r.get(0),
        id: r.get(1),
        last_updated: r.get(2),
        json: r.get(3),
    }
}
