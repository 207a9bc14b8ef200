//! The R4 specification's examples of the clinical types this server serves
//! (`profiles/examples/r4-clinical/`, from npm `hl7.fhir.r4.examples@4.0.1`) go through the
//! server unchanged: each is created and read back equal to the file apart from `id` and
//! `meta`.
//!
//! The write rule makes references to served types resolve, so what the examples reference
//! among them is put in place first with its id: a minimal placeholder per reference
//! (phase one), then the examples themselves (phase two). Placeholders reference nothing, so
//! examples that reference each other need no particular order.

use std::collections::BTreeSet;
use std::path::PathBuf;

use helsebro_blackbox::reqwest::Response;
use helsebro_blackbox::{on_both_backends, TestServer};
use serde_json::{json, Value};

use crate::r4_examples::{differences, served_references, without};

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../profiles/examples/r4-clinical")
}

/// Every `{resource_type}-*.json` in the folder, sorted by file name; there must be `count`.
fn examples(resource_type: &str, count: usize) -> Vec<(String, Value)> {
    let prefix = format!("{resource_type}-");
    let mut files: Vec<String> = std::fs::read_dir(examples_dir())
        .expect("profiles/examples/r4-clinical exists")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.starts_with(&prefix) && n.ends_with(".json"))
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        count,
        "vendored {resource_type} examples: {files:?}"
    );
    files
        .into_iter()
        .map(|file| {
            let path = examples_dir().join(&file);
            let text = std::fs::read_to_string(&path).expect("readable example");
            let value: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
            assert_eq!(value["resourceType"], resource_type, "{file}");
            (file, value)
        })
        .collect()
}

/// The smallest resource of `resource_type` the server accepts, with `id`.
fn placeholder(resource_type: &str, id: &str) -> Value {
    match resource_type {
        "Patient" | "Practitioner" => json!({"resourceType": resource_type, "id": id}),
        // org-1: an Organization has a name or an identifier.
        "Organization" => json!({"resourceType": "Organization", "id": id, "name": "placeholder"}),
        "Observation" => json!({
            "resourceType": "Observation",
            "id": id,
            "status": "final",
            "code": {"text": "placeholder"}
        }),
        other => panic!("no example references a {other}; a placeholder would need a patient"),
    }
}

/// The JSON body of a response that must have `status`; the reason when it has not.
async fn expect_status(r: Response, status: u16) -> Result<Value, String> {
    let (actual, text) = (
        r.status().as_u16(),
        r.text().await.map_err(|e| e.to_string())?,
    );
    match serde_json::from_str(&text) {
        Ok(body) if actual == status => Ok(body),
        _ => Err(format!("{actual} instead of {status}: {text}")),
    }
}

/// Phase one: a placeholder with each id the examples reference among the served types.
async fn seed(s: &TestServer, examples: &[(String, Value)]) {
    let targets: BTreeSet<_> = examples
        .iter()
        .flat_map(|(_, resource)| served_references(resource))
        .collect();
    for (ty, id) in targets {
        let r = s
            .put_json(&format!("{ty}/{id}"), &placeholder(&ty, &id))
            .await;
        if let Err(why) = expect_status(r, 201).await {
            panic!("placeholder {ty}/{id}: {why}");
        }
    }
}

/// Creates the example and reads it back; both must be the example apart from id and meta.
async fn create_and_read(s: &TestServer, resource: &Value) -> Result<(), String> {
    let ty = resource["resourceType"].as_str().ok_or("no resourceType")?;
    let created = expect_status(s.post_json(ty, resource).await, 201).await?;
    let id = created["id"].as_str().ok_or("created without an id")?;
    let read = expect_status(s.get(&format!("{ty}/{id}")).await, 200).await?;
    if read != created {
        return Err(format!(
            "read ≠ created at {:?}",
            differences(&created, &read)
        ));
    }
    let (expected, actual) = (
        without(resource, &["id", "meta"]),
        without(&read, &["id", "meta"]),
    );
    if expected != actual {
        return Err(format!(
            "read back differs at {:?}",
            differences(&expected, &actual)
        ));
    }
    Ok(())
}

/// Seeds, then creates every example of `resource_type`; asserts none failed, listing those
/// that did.
async fn every_example_round_trips(s: TestServer, resource_type: &str, count: usize) {
    let examples = examples(resource_type, count);
    seed(&s, &examples).await;
    let mut failures = Vec::new();
    for (file, resource) in &examples {
        if let Err(why) = create_and_read(&s, resource).await {
            failures.push(format!("{file}: {why}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} {resource_type} examples fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

async fn observation_examples_round_trip(s: TestServer) {
    every_example_round_trips(s, "Observation", 64).await;
}

async fn communication_examples_round_trip(s: TestServer) {
    every_example_round_trips(s, "Communication", 3).await;
}

async fn medication_statement_examples_round_trip(s: TestServer) {
    every_example_round_trips(s, "MedicationStatement", 7).await;
}

async fn practitioner_examples_round_trip(s: TestServer) {
    every_example_round_trips(s, "Practitioner", 14).await;
}

async fn organization_examples_round_trip(s: TestServer) {
    every_example_round_trips(s, "Organization", 13).await;
}

on_both_backends!(
    observation_examples_round_trip,
    communication_examples_round_trip,
    medication_statement_examples_round_trip,
    practitioner_examples_round_trip,
    organization_examples_round_trip,
);
