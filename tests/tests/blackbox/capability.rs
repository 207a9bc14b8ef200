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
    let root = s.url("").trim_end_matches('/').to_string();
    for code in claimed {
        let (r, answer) = match code.as_str() {
            "history-system" => (s.get("_history").await, "history"),
            "search-system" => (s.get(&root).await, "searchset"),
            "transaction" | "batch" => {
                let read = json!({"resourceType": "Bundle", "type": code, "entry": [
                    {"request": {"method": "GET", "url": "Patient"}}]});
                let r = s.post_json(&s.base, &read).await;
                (
                    r,
                    if code == "batch" {
                        "batch-response"
                    } else {
                        "transaction-response"
                    },
                )
            }
            other => panic!("the CapabilityStatement claims '{other}', which has no check here"),
        };
        let bundle = json_with_status(r, 200).await;
        assert_eq!(bundle["type"], answer, "{bundle}");
        if answer == "history" || answer == "searchset" {
            assert_eq!(bundle["total"], 1, "{bundle}");
        } else {
            assert_eq!(bundle["entry"][0]["resource"]["total"], 1, "{bundle}");
        }
    }
    // The parameters listed for searches across types work there.
    for p in cs["rest"][0]["searchParam"]
        .as_array()
        .expect("system searchParam")
    {
        let name = p["name"].as_str().expect("name");
        let value = sample_value(name, p["type"].as_str().expect("type"));
        let r = s
            .request(Method::GET, &root)
            .query(&[(name, value)])
            .send()
            .await;
        let bundle = json_with_status(r.expect("request"), 200).await;
        assert_eq!(bundle["type"], "searchset", "{name}={value}: {bundle}");
    }
}

/// Every `_include` and `_revinclude` the CapabilityStatement lists is accepted.
async fn listed_includes_are_accepted(s: TestServer) {
    let cs = metadata(&s).await;
    // The access log and the care panels (Group) are no search of stored resources.
    for r in resources(&cs)
        .iter()
        .filter(|r| r["type"] != "AuditEvent" && r["type"] != "Group")
    {
        let t = r["type"].as_str().expect("type");
        let includes = r["searchInclude"].as_array().expect("searchInclude");
        assert!(!includes.is_empty(), "{t}");
        let revincludes = r["searchRevInclude"].as_array().expect("searchRevInclude");
        for (param, value) in includes
            .iter()
            .map(|v| ("_include", v))
            .chain(revincludes.iter().map(|v| ("_revinclude", v)))
        {
            let value = value.as_str().expect("include");
            let r = s
                .request(Method::GET, t)
                .query(&[(param, value)])
                .send()
                .await;
            let bundle = json_with_status(r.expect("request"), 200).await;
            assert_eq!(bundle["type"], "searchset", "{t}?{param}={value}: {bundle}");
        }
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

/// A value a search parameter of any served type accepts.
fn plausible_value(name: &str, kind: &str) -> &'static str {
    match (name, kind) {
        ("active", _) => "true",
        ("gender", _) => "female",
        ("status", _) => "final",
        ("action", _) => "R",
        ("identifier", _) => "http://example.org/fhir/local-patient-id|42",
        ("code" | "component-code" | "combo-code" | "category", _) => "http://loinc.org|8867-4",
        ("agent" | "performer" | "sender" | "recipient" | "source", _) => "Practitioner/x",
        ("medication", _) => "Medication/x",
        (_, "composite") => "http://loinc.org|8867-4$gt50",
        (_, "quantity") => "gt50",
        (_, "reference") => "Patient/x",
        (_, kind) => sample_value("", kind),
    }
}

async fn metadata_is_a_valid_capability_statement(s: TestServer) {
    use helsebro_profiles::validate::{known_profiles, validate, Severity};
    let cs = metadata(&s).await;
    let issues = validate(&cs, None);
    let errors: Vec<_> = issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    assert!(strings(&cs["instantiates"])
        .iter()
        .any(|u| u == "http://hl7.org/fhir/CapabilityStatement/base"));
    assert!(
        strings(&cs["implementationGuide"])
            .iter()
            .any(|u| u.starts_with("http://hl7.no/fhir/ImplementationGuide/")),
        "{cs}"
    );
    let security = &cs["rest"][0]["security"];
    assert_eq!(security["cors"], true, "{security}");
    assert_eq!(
        security["service"][0]["coding"][0]["code"], "SMART-on-FHIR",
        "{security}"
    );
    let oauth = security["extension"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| {
            e["url"] == "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
        })
        .unwrap_or_else(|| panic!("no oauth-uris: {security}"));
    let endpoints: BTreeSet<&str> = oauth["extension"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(
                e["valueUri"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("http")),
                "{e}"
            );
            e["url"].as_str().unwrap()
        })
        .collect();
    for wanted in ["authorize", "token", "introspect", "revoke"] {
        assert!(endpoints.contains(wanted), "{endpoints:?}");
    }
    // Each listed endpoint is served: a POST without a client is refused, not unknown.
    for (name, uri) in oauth["extension"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["url"].as_str().unwrap(), e["valueUri"].as_str().unwrap()))
    {
        let r = s
            .anonymous
            .post(uri)
            .form(&[("x", "y")])
            .send()
            .await
            .unwrap();
        assert_ne!(r.status(), 404, "{name} at {uri}");
    }

    let known = known_profiles();
    for entry in resources(&cs) {
        for profile in strings(&entry["supportedProfile"]) {
            assert!(
                known.contains(&profile.as_str()),
                "{profile} is not carried"
            );
        }
        // PATCH is not served, so no patch format may be claimed.
        assert!(!codes(&entry["interaction"]).contains(&"patch".to_string()));
    }
    assert!(cs["patchFormat"].is_null(), "{cs}");
    for (t, profile) in [
        ("Patient", NO_BASIS_PATIENT),
        (
            "MedicationStatement",
            "http://hl7.no/fhir/StructureDefinition/no-basis-MedicationStatement",
        ),
        (
            "Communication",
            "http://helsebro.no/fhir/StructureDefinition/helsebro-Communication",
        ),
    ] {
        let entry = resources(&cs).into_iter().find(|r| r["type"] == t).unwrap();
        assert!(
            strings(&entry["supportedProfile"])
                .iter()
                .any(|p| p == profile),
            "{entry}"
        );
    }
}

async fn every_listed_search_parameter_of_every_type_is_accepted(s: TestServer) {
    for entry in resources(&metadata(&s).await) {
        let t = entry["type"].as_str().unwrap().to_string();
        let params = entry["searchParam"].as_array().cloned().unwrap_or_default();
        assert!(!params.is_empty(), "{t} lists no search parameter");
        for p in params {
            let name = p["name"].as_str().expect("searchParam.name");
            let kind = p["type"].as_str().expect("searchParam.type");
            let value = plausible_value(name, kind);
            let r = s
                .request(Method::GET, &t)
                .header("Prefer", "handling=strict")
                .query(&[(name, value)])
                .send()
                .await
                .expect("request");
            let bundle = json_with_status(r, 200).await;
            assert_eq!(bundle["type"], "searchset", "{t}?{name}={value}: {bundle}");
        }
    }
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
    listed_includes_are_accepted,
    every_listed_resource_type_is_served,
    every_listed_search_parameter_is_accepted_strictly,
    strict_handling_refuses_an_unlisted_parameter,
    metadata_comes_in_xml,
    metadata_is_a_valid_capability_statement,
    every_listed_search_parameter_of_every_type_is_accepted,
);
