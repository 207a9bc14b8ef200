//! `helsebro import`: loads a platform export (one JSON record per line, see
//! `docs/import-format.md`) through the same mapping and write path as FHIR writes.
//! A rejected line is reported with its number and reason; the import goes on.

mod alert;
mod journal_note;
mod lines;

use std::io::BufRead;

use serde_json::Value;

use crate::fhir::error::ApiError;
use std::collections::{HashMap, HashSet};

use crate::served::ServedType;
use crate::store::resources::StoredVersion;
use crate::store::{Store, StoreError};
use crate::tenant::Tenant;
use crate::write_path::{Change, WriteError, WritePath};
pub use lines::ImportLine;

#[derive(Debug, Default)]
pub struct ImportReport {
    pub imported: usize,
    /// `(line number, reason)` for every rejected line.
    pub rejected: Vec<(usize, String)>,
}

/// Lines written per transaction, with a few multi-row statements per table: a
/// transaction per line would cost a disk flush and a dozen round trips per record.
const BATCH_LINES: usize = 500;

/// Imports every line of `input`; `progress(lines_done)` is called after each batch.
pub async fn import(
    store: &Store,
    tenant: &Tenant,
    input: impl BufRead,
    mut progress: impl FnMut(usize),
) -> std::io::Result<ImportReport> {
    let mut report = ImportReport::default();
    let path = WritePath {
        store,
        tenant,
        base_url: "",
        audit: None,
    };
    let mut batch = Batch::default();
    let mut lines_read = 0;
    for (index, line) in input.lines().enumerate() {
        let line = line?;
        lines_read = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        if let Some(record) = Standalone::recognise(&line) {
            // It may name a patient or measurement of the pending batch: that goes first.
            import_batch(&path, &std::mem::take(&mut batch).lines, &mut report).await;
            match record.write(store, tenant).await {
                Ok(()) => report.imported += 1,
                Err(reason) => report.rejected.push((lines_read, reason)),
            }
            continue;
        }
        let parsed = match parse(&line) {
            Ok(parsed) => parsed,
            Err(reason) => {
                report.rejected.push((lines_read, reason));
                continue;
            }
        };
        // A record changed twice goes into the next batch: the second change builds on
        // the first, which must be written by then.
        if batch.lines.len() == BATCH_LINES || batch.targets.contains(&parsed.target) {
            import_batch(&path, &std::mem::take(&mut batch).lines, &mut report).await;
            progress(lines_read - 1);
        }
        batch.targets.insert(parsed.target.clone());
        batch.lines.push((lines_read, parsed));
    }
    import_batch(&path, &batch.lines, &mut report).await;
    progress(lines_read);
    // Unparsable lines are rejected as read, the others when their batch is written.
    report.rejected.sort_by_key(|(number, _)| *number);
    Ok(report)
}

/// The records that are not served resources and are written one at a time, each with
/// the delivery it may trigger.
enum Standalone {
    JournalNote(journal_note::JournalNoteLine),
    Alert(alert::AlertLine),
    Invalid(String),
}

impl Standalone {
    /// The line as such a record, or `None` when it is a served resource's (or unreadable,
    /// which the general parser then reports).
    fn recognise(line: &str) -> Option<Self> {
        if !line.contains("\"journal_note\"") && !line.contains("\"alert\"") {
            return None;
        }
        let value: Value = serde_json::from_str(line).ok()?;
        let parsed = match value["type"].as_str()? {
            "journal_note" => serde_json::from_value(value).map(Standalone::JournalNote),
            "alert" => serde_json::from_value(value).map(Standalone::Alert),
            _ => return None,
        };
        Some(parsed.unwrap_or_else(|e| Standalone::Invalid(format!("not a valid record: {e}"))))
    }

    async fn write(self, store: &Store, tenant: &Tenant) -> Result<(), String> {
        match self {
            Standalone::JournalNote(line) => journal_note::write(store, tenant, line).await,
            Standalone::Alert(line) => alert::write(store, tenant, line).await,
            Standalone::Invalid(reason) => Err(reason),
        }
    }
}

#[derive(Default)]
struct Batch {
    lines: Vec<(usize, Parsed)>,
    targets: HashSet<(ServedType, String)>,
}

struct Parsed {
    line: ImportLine,
    target: (ServedType, String),
}

fn parse(line: &str) -> Result<Parsed, String> {
    let line: ImportLine =
        serde_json::from_str(line).map_err(|e| format!("not a valid record: {e}"))?;
    let target = line.target();
    crate::fhir::check_id(&target.1).map_err(|e| e.to_string())?;
    Ok(Parsed { line, target })
}

/// Writes a batch in one transaction. A store failure rolls the whole batch back; its lines
/// are then retried one transaction each, so that only the failing line is rejected.
async fn import_batch(path: &WritePath<'_>, batch: &[(usize, Parsed)], report: &mut ImportReport) {
    if batch.is_empty() {
        return;
    }
    let outcomes = match write_lines(path, batch).await {
        Ok(outcomes) => outcomes,
        Err(_) if batch.len() > 1 => {
            let mut outcomes = Vec::with_capacity(batch.len());
            for line in batch {
                match write_lines(path, std::slice::from_ref(line)).await {
                    Ok(mut one) => outcomes.append(&mut one),
                    Err(e) => outcomes.push((line.0, Err(e))),
                }
            }
            outcomes
        }
        Err(e) => vec![(batch[0].0, Err(e))],
    };
    for (number, outcome) in outcomes {
        match outcome {
            Ok(()) => report.imported += 1,
            Err(reason) => report.rejected.push((number, reason)),
        }
    }
}

type LineOutcome = (usize, Result<(), String>);

/// `Err` when the transaction failed (nothing of the batch is written); otherwise each
/// line's outcome, rejected lines having written nothing.
async fn write_lines(
    path: &WritePath<'_>,
    batch: &[(usize, Parsed)],
) -> Result<Vec<LineOutcome>, String> {
    let failed = |e: StoreError| describe(ApiError::from(WriteError::from(e)));
    let mut tx = path.store.begin_write().await.map_err(failed)?;
    let mut current = HashMap::new();
    for served in ServedType::ALL {
        let ids: Vec<&str> = batch
            .iter()
            .filter(|(_, p)| p.target.0 == served)
            .map(|(_, p)| p.target.1.as_str())
            .collect();
        if !ids.is_empty() {
            let found = tx
                .current_many(&path.tenant.id, served.name(), &ids)
                .await
                .map_err(failed)?;
            current.extend(found.into_iter().map(|(id, v)| ((served, id), v)));
        }
    }
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut changes = Vec::with_capacity(batch.len());
    let mut change_lines = Vec::with_capacity(batch.len());
    for (number, parsed) in batch {
        let current = current.remove(&parsed.target);
        match change(path, parsed, current) {
            Ok(change) => {
                changes.push(change);
                change_lines.push(*number);
            }
            Err(reason) => outcomes.push((*number, Err(reason))),
        }
    }
    let results = path.write_batch(&mut tx, changes).await.map_err(failed)?;
    tx.commit().await.map_err(failed)?;
    for (number, result) in change_lines.into_iter().zip(results) {
        outcomes.push((
            number,
            result.map(|_| ()).map_err(|e| describe(ApiError::from(e))),
        ));
    }
    outcomes.sort_by_key(|(number, _)| *number);
    Ok(outcomes)
}

/// The resource a line makes, on top of what the platform already holds for it.
fn change(
    path: &WritePath<'_>,
    parsed: &Parsed,
    current: Option<StoredVersion>,
) -> Result<Change, String> {
    let (served, id) = parsed.target.clone();
    let base: Option<Value> = current
        .as_ref()
        .filter(|c| !c.deleted)
        .and_then(|c| c.json.as_deref())
        .and_then(|j| serde_json::from_str(j).ok());
    let mut resource = parsed
        .line
        .clone()
        .into_resource(base.as_ref(), path.tenant)?;
    resource["id"] = Value::String(id.clone());
    let record = path
        .check(served, &resource)
        .map_err(|e| describe(ApiError::from(e)))?;
    Ok(Change {
        served,
        id,
        resource,
        record,
        current,
        method: "PUT",
    })
}

/// The reasons an `OperationOutcome` would give, on one line.
fn describe(e: ApiError) -> String {
    let outcome = e.outcome();
    let issues: Vec<String> = outcome["issue"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| match i["expression"][0].as_str() {
            Some(x) => format!("{x}: {}", i["diagnostics"].as_str().unwrap_or_default()),
            None => i["diagnostics"].as_str().unwrap_or_default().to_string(),
        })
        .collect();
    issues.join("; ")
}
