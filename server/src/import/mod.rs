//! `helsebro import`: loads a platform export (one JSON record per line, see
//! `docs/import-format.md`) through the same mapping and write path as FHIR writes.
//! A rejected line is reported with its number and reason; the import goes on.

mod lines;

use std::io::BufRead;

use serde_json::Value;

use crate::fhir::error::ApiError;
use crate::store::Store;
use crate::tenant::Tenant;
use crate::write_path::WritePath;
pub use lines::ImportLine;

#[derive(Debug, Default)]
pub struct ImportReport {
    pub imported: usize,
    /// `(line number, reason)` for every rejected line.
    pub rejected: Vec<(usize, String)>,
}

/// Imports every line of `input`; `progress(lines_done)` is called after each line.
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
    };
    for (index, line) in input.lines().enumerate() {
        let line = line?;
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        match import_line(&path, store, tenant, &line).await {
            Ok(()) => report.imported += 1,
            Err(reason) => report.rejected.push((number, reason)),
        }
        progress(number);
    }
    Ok(report)
}

async fn import_line(
    path: &WritePath<'_>,
    store: &Store,
    tenant: &Tenant,
    line: &str,
) -> Result<(), String> {
    let parsed: ImportLine =
        serde_json::from_str(line).map_err(|e| format!("not a valid record: {e}"))?;
    let (served, id) = parsed.target();
    crate::fhir::check_id(&id).map_err(|e| e.to_string())?;
    let current = store
        .read_current(&tenant.id, served.name(), &id)
        .await
        .map_err(|e| e.to_string())?;
    let base: Option<Value> = current
        .filter(|c| !c.deleted)
        .and_then(|c| c.json)
        .and_then(|j| serde_json::from_str(&j).ok());
    let mut resource = parsed.into_resource(base.as_ref(), tenant)?;
    resource["id"] = Value::String(id.clone());
    path.update(served, &id, resource, None)
        .await
        .map(|_| ())
        .map_err(|e| describe(ApiError::from(e)))
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
