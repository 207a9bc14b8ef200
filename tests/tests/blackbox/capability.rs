//! The CapabilityStatement at `/fhir/metadata`, and that what it claims is what the server
//! does.

use std::collections::BTreeSet;

use helsebro_blackbox::reqwest::Method;
use helsebro_blackbox::{json_with_status, on_both_backends, TestServer};
use serde_json::{json, Value};

use crate::errors::outcome_with_status;
use crate::formats::xml_with_status;
use crate::rest::{create_patient, history_total, patient, send, with};

const NO_BASIS_PATIENT: &str = "http://hl7.no/fhir/StructureDefinition/no-basis-Patient";

/// What the server serves on Patient, in an order in which each can be exercised.
const PATIENT_INTERACTIONS: [&str; 8] = [
    "create",
    "read",
    "vread",
    "update",
    "search-type",
    "history-instance",
    "history-type",
    "delete",
];

// --- helpers ---------------------------------------------------------------------------

async fn metadata(s: &TestServer) -> Value {
    json_with_status(s.get("metadata").await, 200).await
}

fn resources(cs: &Value) -> Vec<Value> {
    cs["rest"][0]["resource"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no rest[0].resource: {cs}"))
}

fn patient_entry(cs: &Value) -> Value {
    resources(cs)
        .into_iter()
        .find(|r| r["type"] == "Patient")
        .unwrap_or_else(|| panic!("no Patient in rest[0].resource: {cs}"))
}

fn codes(list: &Value) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["code"].as_str().map(str::to_string))
        .collect()
}

fn strings(list: &Value) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// Performs a claimed Patient interaction on `id` and asserts it succeeds.
async fn exercise(s: &TestServer, code: &str, id: &str) {
    let instance = format!("Patient/{id}");
    let (status, bundle_type) = match code {
        "create" => {
            s.create(&patient()).await;
            return;
        }
        "read" => (s.get(&instance).await, None),
        "vread" => (s.get(&format!("{instance}/_history/1")).await, None),
        "update" => {
            let body = with(patient(), "id", json!(id));
            (s.put_json(&instance, &body).await, None)
        }
        "search-type" => (s.get(&format!("Patient?_id={id}")).await, Some("searchset")),
        "history-instance" => (
            s.get(&format!("{instance}/_history")).await,
            Some("history"),
        ),
        "history-type" => (s.get("Patient/_history").await, Some("history")),
        "delete" => {
            let r = s.delete(&instance).await;
            assert_eq!(r.status(), 204, "claimed delete");
            outcome_with_status(s.get(&instance).await, 410).await;
            return;
        }
        other => panic!("the CapabilityStatement claims '{other}', which has no check here"),
    };
    let body = json_with_status(status, 200).await;
    match bundle_type {
        Some(t) => {
            assert_eq!(body["type"], t, "{code}: {body}");
            assert!(
                body["entry"].as_array().is_some_and(|e| !e.is_empty()),
                "{code}: {body}"
            );
        }
        None => assert_eq!(body["id"], json!(id), "{code}: {body}"),
    }
}

/// A value each kind of search parameter accepts.
fn sample_value(name: &str, kind: &str) -> &'static str {
    match (name, kind) {
        ("active", _) => "true",
        ("gender", _) => "female",
        ("identifier", _) => "http://example.org/fhir/local-patient-id|42",
        (_, "token") => "x",
        (_, "string") => "x",
        (_, "date") => "ge2000-01-01",
        (_, "reference") => "Patient/x",
        (_, "number" | "quantity") => "1",
        (_, "uri") => "http://example.org",
        _ => panic!("no sample value for the {kind} parameter {name}"),
    }
}

async fn strict_search(
    s: &TestServer,
    query: &[(&str, &str)],
) -> helsebro_blackbox::reqwest::Response {
    s.request(Method::GET, "Patient")
        .header("Prefer", "handling=strict")
        .query(query)
        .send()
        .await
        .expect("request")
}

// --- tests -----------------------------------------------------------------------------

async fn metadata_describes_an_r4_server_instance(s: TestServer) {
    let cs = metadata(&s).await;
    assert_eq!(cs["resourceType"], "CapabilityStatement");
    assert_eq!(cs["fhirVersion"], "4.0.1");
    assert_eq!(cs["kind"], "instance");
    assert_eq!(cs["rest"][0]["mode"], "server");
    let formats = strings(&cs["format"]);
    for wanted in ["json", "xml"] {
        let mime = format!("application/fhir+{wanted}");
        assert!(
            formats.iter().any(|f| *f == wanted || *f == mime),
            "format lacks {wanted}: {formats:?}"
        );
    }
}

async fn the_patient_entry_declares_profile_and_write_modes(s: TestServer) {
    let entry = patient_entry(&metadata(&s).await);
    assert!(
        strings(&entry["supportedProfile"])
            .iter()
            .any(|p| p == NO_BASIS_PATIENT),
        "supportedProfile: {entry}"
    );
    assert_eq!(entry["updateCreate"], true, "{entry}");
    assert_eq!(entry["conditionalCreate"], true, "{entry}");
}

async fn claimed_patient_interactions_are_exactly_the_served_ones(s: TestServer) {
    let claimed: BTreeSet<String> = codes(&patient_entry(&metadata(&s).await)["interaction"])
        .into_iter()
        .collect();
    let id = create_patient(&s).await;
    for code in PATIENT_INTERACTIONS
        .iter()
        .filter(|c| claimed.contains(**c))
    {
        exercise(&s, code, &id).await;
    }
    for code in claimed
        .iter()
        .filter(|c| !PATIENT_INTERACTIONS.contains(&c.as_str()))
    {
        exercise(&s, code, &id).await;
    }
    let served: BTreeSet<String> = PATIENT_INTERACTIONS.iter().map(|c| c.to_string()).collect();
    assert_eq!(claimed, served);
}

async fn unclaimed_patient_interactions_are_refused(s: TestServer) {
    let entry = patient_entry(&metadata(&s).await);
    let id = create_patient(&s).await;
    let instance = format!("Patient/{id}");
    if !codes(&entry["interaction"]).iter().any(|c| c == "patch") {
        let patch = send(&s, Method::PATCH, &instance, &[], Some("[]".into())).await;
        outcome_with_status(patch, 405).await;
    }
    if entry["conditionalDelete"] == "not-supported" {
        let r = s.delete(&format!("Patient?_id={id}")).await;
        assert!(
            r.status().is_client_error(),
            "conditional delete: {}",
            r.status()
        );
    }
    if entry["conditionalUpdate"] == false {
        let body = with(patient(), "id", json!(id));
        let r = s.put_json(&format!("Patient?_id={id}"), &body).await;
        assert!(
            r.status().is_client_error(),
            "conditional update: {}",
            r.status()
        );
    }
    let read = json_with_status(s.get(&instance).await, 200).await;
    assert_eq!(read["meta"]["versionId"], "1", "{read}");
    assert_eq!(history_total(&s, "Patient/_history").await, 1);
}

async fn system_interactions_claimed_are_served(s: TestServer) {
    let cs = metadata(&s).await;
    create_patient(&s).await;
    let claimed = codes(&cs["rest"][0]["interaction"]);
    assert!(
        claimed.contains(&"history-system".to_string()),
        "{claimed:?}"
    );
    for code in claimed {
        let r = match code.as_str() {
            "history-system" => s.get("_history").await,
            other => panic!("the CapabilityStatement claims '{other}', which has no check here"),
        };
        let bundle = json_with_status(r, 200).await;
        assert_eq!(bundle["type"], "history", "{bundle}");
        assert_eq!(bundle["total"], 1, "{bundle}");
    }
}

async fn every_listed_resource_type_is_served(s: TestServer) {
    let listed: Vec<String> = resources(&metadata(&s).await)
        .iter()
        .filter_map(|r| r["type"].as_str().map(str::to_string))
        .collect();
    assert!(listed.iter().any(|t| t == "Patient"), "{listed:?}");
    for t in listed {
        let bundle = json_with_status(s.get(&t).await, 200).await;
        assert_eq!(bundle["type"], "searchset", "{t}: {bundle}");
    }
}

async fn every_listed_search_parameter_is_accepted_strictly(s: TestServer) {
    let entry = patient_entry(&metadata(&s).await);
    let params = entry["searchParam"].as_array().cloned().unwrap_or_default();
    assert!(params.len() > 2, "too few search parameters: {entry}");
    for p in params {
        let name = p["name"].as_str().expect("searchParam.name");
        let kind = p["type"].as_str().expect("searchParam.type");
        let value = sample_value(name, kind);
        let bundle = json_with_status(strict_search(&s, &[(name, value)]).await, 200).await;
        assert_eq!(bundle["type"], "searchset", "{name}={value}: {bundle}");
    }
}

async fn strict_handling_refuses_an_unlisted_parameter(s: TestServer) {
    let outcome = outcome_with_status(strict_search(&s, &[("not-a-param", "x")]).await, 400).await;
    assert!(outcome["issue"][0]["diagnostics"]
        .as_str()
        .unwrap()
        .contains("not-a-param"));
    let lenient = s.get("Patient?not-a-param=x").await;
    assert_eq!(json_with_status(lenient, 200).await["type"], "searchset");
}

async fn metadata_comes_in_xml(s: TestServer) {
    let by_accept = send(
        &s,
        Method::GET,
        "metadata",
        &[("Accept", "application/fhir+xml")],
        None,
    );
    let by_format = s.get("metadata?_format=xml");
    for r in [by_accept.await, by_format.await] {
        let xml = xml_with_status(r, 200, "CapabilityStatement").await;
        assert!(xml.contains(r#"<fhirVersion value="4.0.1"/>"#), "{xml}");
        assert!(xml.contains(r#"<kind value="instance"/>"#), "{xml}");
        assert!(xml.contains(NO_BASIS_PATIENT), "{xml}");
    }
}

on_both_backends!(
    metadata_describes_an_r4_server_instance,
    the_patient_entry_declares_profile_and_write_modes,
    claimed_patient_interactions_are_exactly_the_served_ones,
    unclaimed_patient_interactions_are_refused,
    system_interactions_claimed_are_served,
    every_listed_resource_type_is_served,
    every_listed_search_parameter_is_accepted_strictly,
    strict_handling_refuses_an_unlisted_parameter,
    metadata_comes_in_xml,
);
