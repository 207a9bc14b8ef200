//! The 22 Patient examples of the R4 specification (`profiles/examples/r4/`, from npm
//! `hl7.fhir.r4.examples@4.0.1`) go through the server unchanged: created, updated with
//! their own id, and read back as JSON and as XML.
//!
//! A product rule of the server: a literal reference to a type it serves (Patient,
//! Observation, Communication, MedicationStatement, Practitioner, Organization) must
//! resolve to an existing resource of the same tenant, else the write is refused with 422.
//! So before an example is written, what it references is seeded (`seed_references`), and
//! the examples that reference each other are written in two phases
//! (`put_linked_examples_without_their_links`, then as written).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use helsebro_blackbox::reqwest::Response;
use helsebro_blackbox::{on_both_backends, TestServer};
use serde_json::{json, Map, Value};

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
async fn for_every_example<F>(examples: &[(String, Value)], check: F)
where
    F: AsyncFn(&Value) -> Result<(), String>,
{
    let mut failures = Vec::new();
    for (file, resource) in examples {
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

// --- what the examples reference ------------------------------------------------------

/// The types the server serves: a literal reference to one of them must resolve.
const SERVED_TYPES: [&str; 6] = [
    "Patient",
    "Observation",
    "Communication",
    "MedicationStatement",
    "Practitioner",
    "Organization",
];

/// The target (`type`, `id`) of a relative literal reference, `Type/id` or
/// `Type/id/_history/v`; `None` for absolute URLs, `#contained` and `urn:` references.
fn local_target(reference: &str) -> Option<(String, String)> {
    let path = reference.split("/_history/").next().unwrap_or(reference);
    if path.contains("://") || path.starts_with("urn:") || path.starts_with('#') {
        return None;
    }
    let (rtype, id) = path.split_once('/')?;
    (!rtype.is_empty() && !id.is_empty() && !id.contains('/'))
        .then(|| (rtype.to_string(), id.to_string()))
}

/// The targets of `reference`s to served types anywhere in `resource`, once each in
/// document order, without the resource itself.
pub(crate) fn served_references(resource: &Value) -> Vec<(String, String)> {
    fn walk(node: &Value, out: &mut Vec<(String, String)>) {
        match node {
            Value::Object(o) => {
                let target = o
                    .get("reference")
                    .and_then(Value::as_str)
                    .and_then(local_target);
                if let Some(target) = target {
                    if SERVED_TYPES.contains(&target.0.as_str()) && !out.contains(&target) {
                        out.push(target);
                    }
                }
                o.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(resource, &mut out);
    let own = (&resource["resourceType"], &resource["id"]);
    out.retain(|(rtype, id)| (own.0.as_str(), own.1.as_str()) != (Some(rtype), Some(id)));
    out
}

/// The least resource of `rtype` with `id` the server accepts, to be a reference target.
fn minimal_resource(rtype: &str, id: &str) -> Result<Value, String> {
    match rtype {
        "Organization" => Ok(json!({"resourceType": "Organization", "id": id, "name": "Seed"})),
        "Practitioner" => Ok(json!({
            "resourceType": "Practitioner", "id": id, "name": [{"family": "Seed"}]
        })),
        "Patient" => Ok(json!({"resourceType": "Patient", "id": id, "name": [{"family": "Seed"}]})),
        other => Err(format!("no minimal {other} to seed {other}/{id} with")),
    }
}

/// Makes every target of `resource`'s references to served types (`served_references`)
/// exist before it is written: a minimal resource is `PUT` with the target's id, unless a
/// resource is already there (which is left as it is).
pub(crate) async fn seed_references(s: &TestServer, resource: &Value) -> Result<(), String> {
    for (rtype, id) in served_references(resource) {
        let path = format!("{rtype}/{id}");
        match s.get(&path).await.status().as_u16() {
            200 => continue,
            404 | 410 => {}
            other => return Err(format!("GET {path} answered {other} while seeding")),
        }
        let seed = minimal_resource(&rtype, &id)?;
        body_with_status(s.put_json(&path, &seed).await, 201)
            .await
            .map_err(|why| format!("seeding {path}: {why}"))?;
    }
    Ok(())
}

/// `resource` without what holds a reference to one of `targets`: the array item (or, outside
/// arrays, the top-level element) that contains it, and arrays left empty, so that what
/// remains is still valid (`link[0].other` goes with its `link[0]`, and `link` with it).
fn without_references_to(resource: &Value, targets: &[(String, String)]) -> Value {
    fn holds(v: &Value, targets: &[(String, String)]) -> bool {
        match v {
            Value::Object(o) => {
                o.get("reference")
                    .and_then(Value::as_str)
                    .and_then(local_target)
                    .is_some_and(|t| targets.contains(&t))
                    || o.values().any(|c| holds(c, targets))
            }
            Value::Array(items) => items.iter().any(|c| holds(c, targets)),
            _ => false,
        }
    }
    fn strip(v: &Value, targets: &[(String, String)]) -> Option<Value> {
        match v {
            Value::Array(items) => {
                let kept: Vec<Value> = items
                    .iter()
                    .filter(|i| !holds(i, targets))
                    .filter_map(|i| strip(i, targets))
                    .collect();
                (!kept.is_empty()).then_some(Value::Array(kept))
            }
            Value::Object(o) => Some(Value::Object(
                o.iter()
                    .filter_map(|(k, c)| strip(c, targets).map(|c| (k.clone(), c)))
                    .collect(),
            )),
            other => Some(other.clone()),
        }
    }
    let Value::Object(fields) = resource else {
        return resource.clone();
    };
    let kept: Map<String, Value> = fields
        .iter()
        .filter(|(_, c)| c.is_array() || !holds(c, targets))
        .filter_map(|(k, c)| strip(c, targets).map(|c| (k.clone(), c)))
        .collect();
    Value::Object(kept)
}

/// The (`type`, `id`) of an example.
fn target_of(resource: &Value) -> Option<(String, String)> {
    Some((
        resource["resourceType"].as_str()?.to_string(),
        resource["id"].as_str()?.to_string(),
    ))
}

/// Phase one of writing the examples with their own ids. Examples that reference each
/// other (Patient-pat1 and Patient-pat2 through `link.other`) cannot each find the other
/// already written, so each example that references another, or is referenced by another,
/// is first `PUT` (as new: 201) without those references, after seeding the rest of what
/// it references. Phase two (`put_as_written`) then writes every example as it is. Returns
/// the ids written here, each with whether that worked.
async fn put_linked_examples_without_their_links(
    s: &TestServer,
    examples: &[(String, Value)],
) -> BTreeMap<String, Result<(), String>> {
    let own: Vec<(String, String)> = examples.iter().filter_map(|(_, e)| target_of(e)).collect();
    let mut linked = BTreeSet::new();
    for (_, e) in examples {
        for target in served_references(e) {
            if own.contains(&target) {
                linked.insert(target);
                linked.extend(target_of(e));
            }
        }
    }
    let mut written = BTreeMap::new();
    for (_, e) in examples {
        let Some((rtype, id)) = target_of(e).filter(|t| linked.contains(t)) else {
            continue;
        };
        let unlinked = without_references_to(e, &own);
        let result = async {
            seed_references(s, &unlinked).await?;
            body_with_status(s.put_json(&format!("{rtype}/{id}"), &unlinked).await, 201).await?;
            Ok(())
        }
        .await;
        written.insert(
            id,
            result.map_err(|why: String| format!("phase one: {why}")),
        );
    }
    written
}

/// Phase two: `PUT Patient/{its id}` with the example as it is, after seeding what it
/// references; 201 as new, or 200 if phase one wrote it. Returns the id.
async fn put_as_written(
    s: &TestServer,
    resource: &Value,
    phase_one: &BTreeMap<String, Result<(), String>>,
) -> Result<String, String> {
    let id = resource["id"].as_str().ok_or("the example has no id")?;
    let status = match phase_one.get(id) {
        None => 201,
        Some(Ok(())) => 200,
        Some(Err(why)) => return Err(why.clone()),
    };
    seed_references(s, resource).await?;
    body_with_status(s.put_json(&format!("Patient/{id}"), resource).await, status).await?;
    Ok(id.to_string())
}

// --- tests -----------------------------------------------------------------------------

async fn every_example_round_trips_through_create(s: TestServer) {
    for_every_example(&all_examples(), async |resource: &Value| {
        seed_references(&s, resource).await?;
        let created = body_with_status(s.post_json("Patient", resource).await, 201).await?;
        let id = created["id"].as_str().ok_or("created without an id")?;
        let read = body_with_status(s.get(&format!("Patient/{id}")).await, 200).await?;
        same_apart_from(resource, &read, &["meta", "id"])
    })
    .await;
}

async fn every_example_round_trips_through_update_with_its_own_id(s: TestServer) {
    let examples = all_examples();
    let phase_one = put_linked_examples_without_their_links(&s, &examples).await;
    // The examples that link to each other, so both phases are exercised.
    assert_eq!(
        phase_one.keys().collect::<Vec<_>>(),
        ["pat1", "pat2"],
        "{phase_one:?}"
    );
    for_every_example(&examples, async |resource: &Value| {
        let id = put_as_written(&s, resource, &phase_one).await?;
        let read = body_with_status(s.get(&format!("Patient/{id}")).await, 200).await?;
        same_apart_from(resource, &read, &["meta"])
    })
    .await;
    // Seeding for a later example replaced none written before: all are still as written.
    for_every_example(&examples, async |resource: &Value| {
        let id = resource["id"].as_str().ok_or("the example has no id")?;
        let read = body_with_status(s.get(&format!("Patient/{id}")).await, 200).await?;
        same_apart_from(resource, &read, &["meta"])
    })
    .await;
}

async fn every_example_reads_back_as_xml(s: TestServer) {
    let examples = all_examples();
    let phase_one = put_linked_examples_without_their_links(&s, &examples).await;
    for_every_example(&examples, async |resource: &Value| {
        let id = put_as_written(&s, resource, &phase_one).await?;
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

async fn an_example_whose_references_do_not_resolve_is_refused(s: TestServer) {
    // Patient-example's managingOrganization is Organization/1, not on a fresh server.
    let resource = example("Patient-example.json");
    assert_eq!(
        served_references(&resource),
        [("Organization".to_string(), "1".to_string())]
    );
    let outcome = body_with_status(s.post_json("Patient", &resource).await, 422)
        .await
        .unwrap_or_else(|why| panic!("{why}"));
    assert_eq!(outcome["resourceType"], "OperationOutcome", "{outcome}");
    let issues = outcome["issue"].as_array().expect("issues");
    assert_eq!(issues.len(), 1, "{outcome}");
    assert_eq!(issues[0]["severity"], "error", "{outcome}");
    assert_eq!(
        issues[0]["expression"],
        json!(["Patient.managingOrganization.reference"]),
        "{outcome}"
    );
    // Nothing was written.
    let bundle = body_with_status(s.get("Patient").await, 200)
        .await
        .unwrap_or_else(|why| panic!("{why}"));
    assert_eq!(
        bundle["entry"].as_array().map_or(0, Vec::len),
        0,
        "{bundle}"
    );
    // With Organization/1 seeded, the same create succeeds.
    seed_references(&s, &resource)
        .await
        .unwrap_or_else(|why| panic!("{why}"));
    body_with_status(s.post_json("Patient", &resource).await, 201)
        .await
        .unwrap_or_else(|why| panic!("{why}"));
}

on_both_backends!(
    every_example_round_trips_through_create,
    every_example_round_trips_through_update_with_its_own_id,
    every_example_reads_back_as_xml,
    an_example_whose_references_do_not_resolve_is_refused,
);
