//! `helsebro conformance run`: runs TestScripts against a FHIR server with the engine in
//! `helsebro-conformance`, prints a line per script and a summary, and fails (exit 1) when
//! any script failed.

use std::path::PathBuf;

use clap::Subcommand;
use helsebro_conformance::testscript::{run_paths, RunOptions, ScriptResult};

#[derive(Subcommand)]
pub enum ConformanceCommand {
    /// Run TestScript files or folders against a server and write TestReports.
    Run {
        /// The FHIR base, e.g. http://127.0.0.1:8080/fhir.
        #[arg(long)]
        base: String,
        /// A bearer token sent with every request (e.g. from `helsebro token`).
        #[arg(long, env = "HELSEBRO_CONFORMANCE_TOKEN")]
        token: Option<String>,
        /// A variable's value, `name=value` (takes the place of its defaultValue); repeatable.
        #[arg(long = "var", value_name = "NAME=VALUE")]
        vars: Vec<String>,
        /// Write each script's TestReport to this folder as `<id>.TestReport.json`.
        #[arg(long)]
        reports: Option<PathBuf>,
        /// TestScript files, or folders searched for them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

/// One line per script: `PASS name (path): 5 asserts passed, 0 failed`, then each failure
/// and warning indented.
fn print(result: &ScriptResult) {
    let verdict = if result.ok() { "PASS" } else { "FAIL" };
    println!(
        "{verdict} {} ({}): {} asserts passed, {} failed, {} warnings",
        result.name,
        result.path.display(),
        result.passed,
        result.failed,
        result.warnings.len()
    );
    for failure in &result.failures {
        println!("    failed: {failure}");
    }
    for warning in &result.warnings {
        println!("    warning: {warning}");
    }
}

pub async fn run(command: ConformanceCommand) -> Result<(), Box<dyn std::error::Error>> {
    let ConformanceCommand::Run {
        base,
        token,
        vars,
        reports,
        paths,
    } = command;
    let variables = vars
        .iter()
        .map(|v| {
            v.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .ok_or_else(|| format!("--var {v}: expected NAME=VALUE"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let options = RunOptions {
        base,
        token,
        variables,
        report_dir: reports,
    };
    let results = run_paths(&paths, &options).await?;
    results.iter().for_each(print);
    let failed = results.iter().filter(|r| !r.ok()).count();
    let passed = results.len() - failed;
    let asserts_passed: usize = results.iter().map(|r| r.passed).sum();
    let asserts_failed: usize = results.iter().map(|r| r.failed).sum();
    println!("{passed} passed, {failed} failed (asserts: {asserts_passed} passed, {asserts_failed} failed)");
    if failed > 0 {
        return Err(format!("{failed} of {} TestScripts failed", results.len()).into());
    }
    Ok(())
}
