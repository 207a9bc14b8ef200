//! The export worker: leases a job, writes its files, and removes expired jobs. Any
//! number of instances may run one on the same database: a lease makes a job one
//! worker's at a time, every file is stored with the cursor after it (and only while the
//! lease holds), so a job whose worker died goes on from its last file under another.
//!
//! Memory is bounded by one file (`file_resources`) plus one page: the export is read in
//! keyset pages on `resources.seq` and never held whole.

use std::collections::BTreeSet;
use std::time::Duration;

use super::{ExportConfig, Plan, Step};
use crate::audit::patients::patient_of;
use crate::fhir::search::compile::{self, Scope};
use crate::fhir::search::params;
use crate::served::ServedType;
use crate::store::crypto::SearchHasher;
use crate::store::exports::{LeasedJob, NewFile};
use crate::store::sql::Sql;
use crate::store::{now_micros, Store, StoreError};

pub struct Worker {
    store: Store,
    config: ExportConfig,
    /// Who holds a lease: unique per process.
    owner: String,
}

/// How often expired jobs are looked for: their files are personal data, kept 24 hours.
const EXPIRY_INTERVAL: Duration = Duration::from_secs(60);

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Why a job stopped before its end.
enum Stop {
    /// Another worker holds it now, or it was deleted: leave it.
    LeaseLost,
    /// It cannot be done (its plan does not compile): it fails, with this reason.
    Failed(String),
    Store(StoreError),
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Store(e)
    }
}

/// A file being filled.
#[derive(Default)]
struct File {
    ndjson: String,
    count: i64,
    patients: BTreeSet<String>,
}

impl Worker {
    pub fn new(store: Store, config: ExportConfig) -> Self {
        Self {
            store,
            config,
            owner: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// Runs until the process ends. A database error is logged and waited out.
    pub async fn run(self) {
        let mut next_expiry = tokio::time::Instant::now();
        loop {
            if tokio::time::Instant::now() >= next_expiry {
                if let Err(e) = self.expire(now_micros()).await {
                    tracing::warn!(error = %e, "export worker: expiry failed");
                }
                next_expiry += EXPIRY_INTERVAL;
            }
            match self.run_once().await {
                Ok(true) => {}
                Ok(false) => tokio::time::sleep(self.config.idle).await,
                Err(e) => {
                    tracing::warn!(error = %e, "export worker: database error");
                    tokio::time::sleep(self.config.idle).await;
                }
            }
        }
    }

    /// Removes the jobs (and files) that expired by `now`; returns how many.
    pub async fn expire(&self, now: i64) -> Result<u64, StoreError> {
        self.store.expire_export_jobs(now).await
    }

    /// Runs one due job to its end; returns whether there was one.
    pub async fn run_once(&self) -> Result<bool, StoreError> {
        let Some(job) = self
            .store
            .lease_export_job(&self.owner, self.lease_until())
            .await?
        else {
            return Ok(false);
        };
        match self.export(&job).await {
            Ok(()) => {
                self.store
                    .finish_export_job(&job.id, &self.owner, None)
                    .await?;
            }
            Err(Stop::LeaseLost) => {}
            Err(Stop::Failed(why)) => {
                tracing::error!(job = %job.id, reason = %why, "export job failed");
                self.store
                    .finish_export_job(&job.id, &self.owner, Some(&why))
                    .await?;
            }
            Err(Stop::Store(e)) => return Err(e),
        }
        Ok(true)
    }

    fn lease_until(&self) -> i64 {
        now_micros() + micros(self.config.lease)
    }

    async fn export(&self, job: &LeasedJob) -> Result<(), Stop> {
        let plan: Plan = serde_json::from_str(&job.plan)
            .map_err(|e| Stop::Failed(format!("the job's plan does not read: {e}")))?;
        let hasher = self.store.search_hasher(&job.tenant_id).await?;
        let mut job = job.clone();
        let start = usize::try_from(job.cursor_type).unwrap_or(usize::MAX);
        for (place, step) in plan.steps.iter().enumerate().skip(start) {
            let after = if place == start { job.cursor_seq } else { 0 };
            self.export_step(&mut job, &hasher, place as i64, step, after)
                .await?;
        }
        Ok(())
    }

    /// Writes one type's files from `after` on.
    async fn export_step(
        &self,
        job: &mut LeasedJob,
        hasher: &SearchHasher,
        place: i64,
        step: &Step,
        mut after: i64,
    ) -> Result<(), Stop> {
        let served = ServedType::from_name(&step.resource_type)
            .ok_or_else(|| Stop::Failed(format!("{} is not served", step.resource_type)))?;
        if step.any_of.is_empty() {
            return Ok(());
        }
        let filter = self.filter(job, hasher, served, step)?;
        let mut file = File::default();
        let mut renewed = tokio::time::Instant::now();
        loop {
            let rows = self
                .store
                .export_page(
                    &job.tenant_id,
                    served.name(),
                    after,
                    job.since,
                    filter.as_ref(),
                    self.config.page as i64,
                )
                .await?;
            let last_page = rows.len() < self.config.page;
            for row in rows {
                after = row.seq;
                if let Some(json) = self.as_of_transaction(job, served, row).await? {
                    file.add(served, json);
                }
                if file.count as usize >= self.config.file_resources {
                    self.store_file(job, served, place, after, std::mem::take(&mut file))
                        .await?;
                }
            }
            if last_page {
                break;
            }
            // A read that fills no file for long (a narrow filter over many rows) keeps
            // its lease, so that no other worker starts the job over meanwhile.
            if renewed.elapsed() > self.config.lease / 3 {
                let held = self
                    .store
                    .renew_export_lease(&job.id, &self.owner, self.lease_until())
                    .await?;
                if !held {
                    return Err(Stop::LeaseLost);
                }
                renewed = tokio::time::Instant::now();
            }
        }
        if file.count > 0 {
            self.store_file(job, served, place, after, file).await?;
        }
        // The next type starts from its beginning.
        let moved = self
            .store
            .move_export_cursor(&job.id, &self.owner, self.lease_until(), (place + 1, 0))
            .await?;
        if !moved {
            return Err(Stop::LeaseLost);
        }
        Ok(())
    }

    /// The step's searches as one condition on `r` (`None`: the whole type), compiled
    /// by the search compiler.
    fn filter(
        &self,
        job: &LeasedJob,
        hasher: &SearchHasher,
        served: ServedType,
        step: &Step,
    ) -> Result<Option<Sql>, Stop> {
        if step.any_of.iter().any(Vec::is_empty) {
            return Ok(None);
        }
        let scope = Scope {
            tenant_id: &job.tenant_id,
            resource_type: served.name(),
            base_url: &job.base_url,
            hasher,
        };
        let mut sql = Sql::default();
        for (i, pairs) in step.any_of.iter().enumerate() {
            let parsed = params::parse(served.def(), pairs, true)
                .map_err(|e| Stop::Failed(format!("a search of the plan does not parse: {e}")))?;
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push("r.seq IN (")
                .append(&compile::matching(&scope, "seq", &parsed.clauses))
                .push(")");
        }
        Ok(Some(sql))
    }

    /// The resource as it was at the job's transaction time: the current version when it
    /// has not changed since, else the version then current (none if it was created
    /// later). `_since` applies to that version.
    async fn as_of_transaction(
        &self,
        job: &LeasedJob,
        served: ServedType,
        row: crate::store::exports::ExportRow,
    ) -> Result<Option<String>, StoreError> {
        let (last_updated, json) = if row.last_updated <= job.transaction_time {
            match row.json {
                Some(sealed) => (
                    row.last_updated,
                    self.store.unseal(&job.tenant_id, sealed).await?,
                ),
                None => return Ok(None),
            }
        } else {
            match self
                .store
                .version_at(&job.tenant_id, served.name(), &row.id, job.transaction_time)
                .await?
            {
                Some(v) => v,
                None => return Ok(None),
            }
        };
        if job.since.is_some_and(|s| last_updated <= s) {
            return Ok(None);
        }
        Ok(Some(json))
    }

    async fn store_file(
        &self,
        job: &mut LeasedJob,
        served: ServedType,
        place: i64,
        after: i64,
        file: File,
    ) -> Result<(), Stop> {
        let patients: Vec<String> = file.patients.into_iter().collect();
        let stored = self
            .store
            .store_export_file(
                job,
                &self.owner,
                self.lease_until(),
                &NewFile {
                    resource_type: served.name(),
                    count: file.count,
                    patients: &patients,
                    content: &file.ndjson,
                    cursor_type: place,
                    cursor_seq: after,
                },
            )
            .await?;
        if !stored {
            return Err(Stop::LeaseLost);
        }
        job.files += 1;
        job.written += file.count;
        Ok(())
    }
}

impl File {
    /// Adds one resource as one line.
    fn add(&mut self, served: ServedType, json: String) {
        let parsed = serde_json::from_str::<serde_json::Value>(&json).ok();
        if let Some(v) = &parsed {
            self.patients.extend(patient_of(served, v));
        }
        match parsed {
            // NDJSON has one resource a line, whatever the stored text's layout.
            Some(v) if json.contains('\n') => self.ndjson.push_str(&v.to_string()),
            _ => self.ndjson.push_str(json.trim()),
        }
        self.ndjson.push('\n');
        self.count += 1;
    }
}
