//! Our own conformance suites (`conformance/suites/*.json`, R4 TestScripts that also upload
//! unchanged to Touchstone), run by the TestScript engine against the real server: per
//! resource (Patient, Observation, Communication, MedicationStatement), the Norwegian rules,
//! the refusals of SMART scopes, and the JFT receive contract.
//!
//! The harness gives the scripts what a Touchstone tester would configure: the full token
//! (`system/*.cruds`) for every request, and the variables `limitedToken` (a
//! `patient/Observation.rs` token for the smart-scopes script's patient, which must exist
//! before the token is issued), `backendToken` (`system/Bundle.c`) and `jftBase`.
//!
//! Each script isolates its data and cleans up after itself, so the whole set runs twice on
//! the same server: the second run shows the scripts are repeatable on a shared server.

use std::path::{Path, PathBuf};

use helsebro_blackbox::{json_with_status, on_both_backends, Backend, TestServer};
use helsebro_conformance::testscript::{run_paths, RunOptions, ScriptResult};
use serde_json::Value;

/// The smart-scopes script's patient: the launch patient of `limitedToken`.
const SMART_SCRIPT: &str = "helsebro-smart-scopes.json";
const SMART_PATIENT: &str = "helsebro-smart-patient-1";

fn suites_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/suites")
}

/// The scripts: the JSON files directly in the suites folder (fixtures live in `_reference/`).
fn scripts() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(suites_dir())
        .expect("conformance/suites")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 7,
        "expected the seven suites, found {paths:?}"
    );
    paths
}

/// The smart-scopes script's patient, as its fixture has it, put on the server so that a
/// patient token can be issued for it.
async fn put_smart_patient(s: &TestServer) {
    let text =
        std::fs::read_to_string(suites_dir().join(SMART_SCRIPT)).expect("smart-scopes script");
    let script: Value = serde_json::from_str(&text).expect("smart-scopes script is JSON");
    let patient = script["contained"]
        .as_array()
        .and_then(|c| c.iter().find(|r| r["id"] == SMART_PATIENT))
        .cloned()
        .unwrap_or_else(|| panic!("{SMART_SCRIPT} contains no {SMART_PATIENT}"));
    let r = s
        .put_json(&format!("Patient/{SMART_PATIENT}"), &patient)
        .await;
    let status = r.status().as_u16();
    assert!(
        status == 200 || status == 201,
        "PUT Patient/{SMART_PATIENT}: {status} {}",
        r.text().await.unwrap_or_default()
    );
}

async fn options(s: &TestServer, run: usize) -> RunOptions {
    put_smart_patient(s).await;
    let limited = s.token("patient/Observation.rs", Some(SMART_PATIENT)).await;
    let backend = s.token("system/Bundle.c", None).await;
    let flavour = match s.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let report_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/conformance-reports")
        .join(format!("{flavour}-{run}"));
    RunOptions {
        base: s.base.clone(),
        token: Some(s.token("system/*.cruds", None).await),
        variables: vec![
            ("limitedToken".to_string(), limited),
            ("backendToken".to_string(), backend),
            ("jftBase".to_string(), format!("{}/jft/v1", s.root)),
        ],
        report_dir: Some(report_dir),
    }
}

fn summary(results: &[ScriptResult]) -> String {
    let mut out = String::new();
    for r in results {
        out.push_str(&format!(
            "\n{} ({}): {} passed, {} failed",
            r.name,
            r.path.display(),
            r.passed,
            r.failed
        ));
        for f in &r.failures {
            out.push_str(&format!("\n    {f}"));
        }
    }
    out
}

async fn suites_pass_twice(s: TestServer) {
    let paths = scripts();
    for run in 1..=2 {
        let options = options(&s, run).await;
        let results = run_paths(&paths, &options)
            .await
            .unwrap_or_else(|e| panic!("run {run}: the engine failed: {e:?}"));
        assert_eq!(
            results.len(),
            paths.len(),
            "run {run}: {}",
            summary(&results)
        );
        let failed: usize = results.iter().map(|r| r.failed).sum();
        assert_eq!(failed, 0, "run {run}: {}", summary(&results));
        for r in &results {
            assert!(r.passed > 0, "run {run}: {} asserted nothing", r.name);
        }
    }
    // What the scripts made is gone again, but for the smart-scopes patient they leave for
    // the token (and the documents received, which a receiver keeps).
    let left = json_with_status(
        s.get("Observation?patient=helsebro-observation-patient")
            .await,
        200,
    )
    .await;
    assert_eq!(left["total"], 0, "the Observation script left {left}");
}

on_both_backends!(suites_pass_twice);
