//! The 22 Patient examples of the R4 specification (`profiles/examples/r4/`, from npm
//! `hl7.fhir.r4.examples@4.0.1`) go through the server unchanged: created, updated with
//! their own id, and read back as JSON and as XML.

use std::path::PathBuf;

use helsebro_blackbox::reqwest::Response;
use helsebro_blackbox::{on_both_backends, TestServer};
use serde_json::Value;

const EXAMPLE_COUNT: usize = 22;

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../profiles/examples/r4")
}

/// One vendored example by file name, e.g. `Patient-example.json`.
pub(crate) fn example(file: &str) -> Value {
    let path = examples_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every `Patient-*.json` in the folder, sorted by file name.
fn all_examples() -> Vec<(String, Value)> {
    let mut files: Vec<String> = std::fs::read_dir(examples_dir())
        .expect("profiles/examples/r4 exists")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.starts_with("Patient-") && n.ends_with(".json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), EXAMPLE_COUNT, "vendored examples: {files:?}");
    files
        .into_iter()
        .map(|f| {
            let v = example(&f);
            (f, v)
        })
        .collect()
}

/// `resource` without the top-level `keys`.
pub(crate) fn without(resource: &Value, keys: &[&str]) -> Value {
    let mut out = resource.clone();
    if let Some(o) = out.as_object_mut() {
        for k in keys {
            o.remove(*k);
        }
    }
    out
}

/// The paths at which `expected` and `actual` differ (at most a few, for messages).
pub(crate) fn differences(expected: &Value, actual: &Value) -> Vec<String> {
    fn walk(path: String, e: &Value, a: &Value, out: &mut Vec<String>) {
        match (e, a) {
            (Value::Object(eo), Value::Object(ao)) => {
                for k in eo.keys().chain(ao.keys().filter(|k| !eo.contains_key(*k))) {
                    let (ev, av) = (&eo.get(k), &ao.get(k));
                    match (ev, av) {
                        (Some(ev), Some(av)) => walk(format!("{path}.{k}"), ev, av, out),
                        _ => out.push(format!("{path}.{k}: {ev:?} ≠ {av:?}")),
                    }
                }
            }
            (Value::Array(ea), Value::Array(aa)) if ea.len() == aa.len() => {
                for (i, (ev, av)) in ea.iter().zip(aa).enumerate() {
                    walk(format!("{path}[{i}]"), ev, av, out);
                }
            }
            _ if e != a => out.push(format!("{path}: {e} ≠ {a}")),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(String::new(), expected, actual, &mut out);
    out.truncate(5);
    out
}

/// The body of a response with `status`, or why it is not.
async fn body_with_status(r: Response, status: u16) -> Result<Value, String> {
    let actual = r.status().as_u16();
    let text = r.text().await.map_err(|e| e.to_string())?;
    if actual != status {
        return Err(format!("status {actual} instead of {status}: {text}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("not JSON ({e}): {text}"))
}

/// Runs `check` on every example and asserts that none failed, listing those that did.
async fn for_every_example<F>(check: F)
where
    F: AsyncFn(&Value) -> Result<(), String>,
{
    let examples = all_examples();
    let mut failures = Vec::new();
    for (file, resource) in &examples {
        if let Err(why) = check(resource).await {
            failures.push(format!("{file}: {why}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} examples fail:\n{}",
        failures.len(),
        examples.len(),
        failures.join("\n")
    );
}

fn same_apart_from(expected: &Value, actual: &Value, keys: &[&str]) -> Result<(), String> {
    let (e, a) = (without(expected, keys), without(actual, keys));
    if e == a {
        Ok(())
    } else {
        Err(format!("read back differs at {:?}", differences(&e, &a)))
    }
}

/// `PUT Patient/{its id}` with the example as it is; returns the id.
async fn put_as_is(s: &TestServer, resource: &Value) -> Result<String, String> {
    let id = resource["id"].as_str().ok_or("the example has no id")?;
    body_with_status(s.put_json(&format!("Patient/{id}"), resource).await, 201).await?;
    Ok(id.to_string())
}

// --- tests -----------------------------------------------------------------------------

async fn every_example_round_trips_through_create(s: TestServer) {
    for_every_example(async |resource: &Value| {
        let created = body_with_status(s.post_json("Patient", resource).await, 201).await?;
        let id = created["id"].as_str().ok_or("created without an id")?;
        let read = body_with_status(s.get(&format!("Patient/{id}")).await, 200).await?;
        same_apart_from(resource, &read, &["meta", "id"])
    })
    .await;
}

async fn every_example_round_trips_through_update_with_its_own_id(s: TestServer) {
    for_every_example(async |resource: &Value| {
        let id = put_as_is(&s, resource).await?;
        let read = body_with_status(s.get(&format!("Patient/{id}")).await, 200).await?;
        same_apart_from(resource, &read, &["meta"])
    })
    .await;
}

async fn every_example_reads_back_as_xml(s: TestServer) {
    for_every_example(async |resource: &Value| {
        let id = put_as_is(&s, resource).await?;
        let r = s.get(&format!("Patient/{id}?_format=xml")).await;
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let text = r.text().await.map_err(|e| e.to_string())?;
        if status != 200 || !content_type.starts_with("application/fhir+xml") {
            return Err(format!("{status} {content_type}: {text}"));
        }
        let root = crate::spec_testscripts::parse_xml(&text);
        if root.name != "Patient" || root.values(&["id"]) != [id.as_str()] {
            return Err(format!("not Patient/{id} in XML: {text}"));
        }
        Ok(())
    })
    .await;
}

on_both_backends!(
    every_example_round_trips_through_create,
    every_example_round_trips_through_update_with_its_own_id,
    every_example_reads_back_as_xml,
);
