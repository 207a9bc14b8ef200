//! The TestScript engine: runs R4 TestScripts against a FHIR server and writes a
//! TestReport for each (`helsebro conformance run`).
//!
//! Why not `haste-testscript-runner` (0.129.2, Apache-2.0): it works on its own FHIR stack
//! (`haste-fhir-model` types, `haste-fhir-client`, `haste-fhirpath`), a second R4 model
//! and client beside fhirbolt and reqwest; its operator evaluation for FHIRPath asserts
//! is left unwritten (it panics) for `in`, `notIn`, `empty`, `notEmpty`, `greaterThan`,
//! `lessThan`, `notContains` and `eval`, it compares `contentType: xml` literally with the
//! MIME type and refuses `direction: request` asserts; and it has no code for `minimumId`,
//! `validateProfileId`, `navigationLinks`, `path` asserts or fixture files, which the R4
//! example scripts all use. So the engine is written here, small and on serde_json.
//!
//! One module a job: [`script`] (the resource and loading), [`fixtures`], [`variables`],
//! [`operations`] (requests), [`http`] (exchanges), [`asserts`], [`operators`],
//! [`paths`] and [`xml_tree`] (XPath/JSON paths), [`fhirpath`], [`minimum_id`],
//! [`runner`] (one script's flow) and [`report`] (the TestReport).
//!
//! Scope: one server (a script's `origin`/`destination` all mean `base`); Touchstone's
//! extensions (rules, `${UUID}`-style placeholders, dynamic fixtures) are not read.

pub mod asserts;
pub mod error;
pub mod fhirpath;
pub mod fixtures;
pub mod http;
pub mod minimum_id;
pub mod operations;
pub mod operators;
pub mod paths;
pub mod report;
pub mod runner;
pub mod script;
pub mod state;
pub mod variables;
pub mod xml_tree;

#[cfg(test)]
mod test_server;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use error::EngineError;

/// How to run scripts.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The FHIR base, e.g. `http://127.0.0.1:8080/fhir`.
    pub base: String,
    /// Sent as `Authorization: Bearer …` with every request.
    pub token: Option<String>,
    /// Values for variables by name: they take the place of a variable's `defaultValue`.
    pub variables: Vec<(String, String)>,
    /// Where each script's TestReport is written, as `<script id>.TestReport.json`.
    pub report_dir: Option<PathBuf>,
}

/// What one script came to.
#[derive(Debug, Clone)]
pub struct ScriptResult {
    pub path: PathBuf,
    pub name: String,
    /// Asserts that passed.
    pub passed: usize,
    /// Asserts that failed and operations that got no answer (warnings not counted).
    pub failed: usize,
    /// One line per failure: `test 'X' action 3: expected response code '201', got '400'`.
    pub failures: Vec<String>,
    /// The same for warningOnly asserts that did not hold.
    pub warnings: Vec<String>,
    /// The TestReport.
    pub report: serde_json::Value,
}

impl ScriptResult {
    pub fn ok(&self) -> bool {
        self.failed == 0
    }
}

/// Runs the TestScripts in `paths` (files, or folders searched for `*.json` TestScripts;
/// other JSON, such as fixtures, is skipped), one after another, in name order.
pub async fn run_paths(
    paths: &[PathBuf],
    options: &RunOptions,
) -> Result<Vec<ScriptResult>, EngineError> {
    let scripts = script::discover(paths)?;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .map_err(|e| EngineError::Client(e.to_string()))?;
    if let Some(dir) = &options.report_dir {
        std::fs::create_dir_all(dir).map_err(|source| EngineError::WriteReport {
            path: dir.clone(),
            source,
        })?;
    }
    let mut results = Vec::new();
    for loaded in &scripts {
        let run = runner::run(loaded, options, &client).await;
        let id = loaded.report_id();
        let name = loaded.display_name();
        let report = report::test_report(&id, &name, &options.base, &run.record);
        if let Some(dir) = &options.report_dir {
            let path = dir.join(format!("{id}.TestReport.json"));
            let text = serde_json::to_string_pretty(&report).unwrap_or_default();
            std::fs::write(&path, text).map_err(|source| EngineError::WriteReport {
                path: path.clone(),
                source,
            })?;
        }
        results.push(ScriptResult {
            path: loaded.path.clone(),
            name,
            passed: run.record.passed(),
            failed: run.record.failed(),
            failures: run.failures,
            warnings: run.warnings,
            report,
        });
    }
    Ok(results)
}
