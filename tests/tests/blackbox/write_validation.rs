//! Validation on write, chosen per tenant (`helsebro tenant validation`): at `core` a write
//! must be R4 (and conform to the profiles it claims), at `norwegian` to the Norwegian
//! profile of its type. A refusal is `422` listing every issue with its path, and stores
//! nothing; `$validate` says beforehand what a write would say.

use helsebro::tenant::ValidationLevel;
use helsebro_blackbox::reqwest::Client;
use helsebro_blackbox::sender::cli;
use helsebro_blackbox::{json_with_status, on_both_backends, TestServer};
use serde_json::{json, Value};

use crate::rest::FNR_SYSTEM;

const NO_BASIS_PATIENT: &str = "http://hl7.no/fhir/StructureDefinition/no-basis-Patient";
/// A fødselsnummer with valid check digits (not a synthetic one: the tenant is not a test
/// tenant).
const FNR: &str = "13116900216";
const FEST: &str = "http://ehelse.no/fhir/CodeSystem/FEST";
const ATC: &str = "http://www.whocc.no/atc";

// --- resources -------------------------------------------------------------------------

/// Valid R4 and valid no-basis: no Norwegian identifier is required.
fn plain_patient(family: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "name": [{"family": family, "given": ["Kari"]}],
        "gender": "female",
        "birthDate": "1980-05-05"
    })
}

/// Valid R4, but a local H-number (`system` "HNR") without the type and assigner
/// no-basis-Patient's HNR slice requires.
fn hnr_patient(family: &str) -> Value {
    let mut p = plain_patient(family);
    p["identifier"] = json!([{"system": "HNR", "value": "15458010088"}]);
    p
}

/// The medication in the statement's own CodeableConcept: R4 allows it, no-basis requires
/// `medicationReference`.
fn coded_statement(patient: &str) -> Value {
    json!({
        "resourceType": "MedicationStatement",
        "status": "active",
        "medicationCodeableConcept": {"coding": [
            {"system": FEST, "code": "ID_2B8C5F0E-6A1D-4B8E-9F3A-7C1D2E3F4A5B", "display": "Ramipril Actavis tab 5 mg"},
            {"system": ATC, "code": "C09AA05", "display": "ramipril"}
        ]},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": "2026-09-01"
    })
}

/// The medication as a contained no-basis-Medication.
fn referenced_statement(patient: &str) -> Value {
    json!({
        "resourceType": "MedicationStatement",
        "contained": [{
            "resourceType": "Medication",
            "id": "med1",
            "code": {"coding": [
                {"system": FEST, "code": "ID_0D1E2F3A-4B5C-6D7E-8F9A-0B1C2D3E4F5A", "display": "Metformin Teva tab 500 mg"},
                {"system": ATC, "code": "A10BA02", "display": "metformin"}
            ]},
            "form": {"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.7448", "code": "53", "display": "Tablett"}]}
        }],
        "status": "active",
        "medicationReference": {"reference": "#med1"},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": "2026-09-01"
    })
}

// --- helpers ---------------------------------------------------------------------------

fn error_paths(outcome: &Value) -> Vec<String> {
    outcome["issue"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["severity"] == "error")
        .filter_map(|i| i["expression"][0].as_str().map(str::to_string))
        .collect()
}

/// Asserts a `422` whose errors include one at a path starting with `path`; the outcome.
async fn refused(r: helsebro_blackbox::reqwest::Response, path: &str) -> Value {
    let outcome = json_with_status(r, 422).await;
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let paths = error_paths(&outcome);
    assert!(
        paths.iter().any(|p| p.starts_with(path)),
        "no error at {path}: {outcome}"
    );
    for issue in outcome["issue"].as_array().unwrap() {
        assert!(issue["expression"][0].is_string(), "{issue}");
    }
    outcome
}

async fn send(
    c: &Client,
    s: &TestServer,
    method: &str,
    path: &str,
    body: &Value,
) -> helsebro_blackbox::reqwest::Response {
    let method = helsebro_blackbox::reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    c.request(method, s.url(path))
        .header("Content-Type", "application/fhir+json")
        .body(body.to_string())
        .send()
        .await
        .expect("request")
}

async fn total(c: &Client, s: &TestServer, query: &str) -> u64 {
    let r = c.get(s.url(query)).send().await.expect("request");
    json_with_status(r, 200).await["total"].as_u64().unwrap()
}

/// A second tenant, with a client of its own.
async fn other_tenant(s: &TestServer) -> Client {
    let other = s.other_tenant(false).await;
    s.client_with(&s.token_for(&other, "system/*.cruds", None).await)
}

/// The default tenant's level, as stored.
async fn level(s: &TestServer) -> ValidationLevel {
    let tenant = &s.state.tenant.id;
    let stored = s.state.store.tenant(tenant).await.unwrap();
    stored.expect("the default tenant").write_validation
}

/// Sets the default tenant's level with the operator command, as an operator would.
fn set_level(s: &TestServer, level: &str) {
    let org = s.state.tenant.org_number.clone();
    let out = cli(
        &s.database_url,
        &["tenant", "validation", "--tenant", &org, "--level", level],
    );
    assert!(out.contains(level), "{out}");
}

// --- tests -----------------------------------------------------------------------------

async fn a_core_tenant_accepts_r4_and_refuses_what_is_not(s: TestServer) {
    let c = &s.client;
    assert_eq!(level(&s).await, ValidationLevel::Core);
    // No Norwegian identifier, no profile claimed: R4 is all a core tenant asks.
    s.create(&plain_patient("Kjerne")).await;
    s.create(&hnr_patient("Lokal")).await;

    // A code outside gender's required binding.
    let mut bad = plain_patient("Ugyldig");
    bad["gender"] = json!("sometimes");
    refused(send(c, &s, "POST", "Patient", &bad).await, "Patient.gender").await;

    // A profile the resource claims is held to, also at core.
    let mut claims = hnr_patient("Paastand");
    claims["meta"] = json!({"profile": [NO_BASIS_PATIENT]});
    refused(
        send(c, &s, "POST", "Patient", &claims).await,
        "Patient.identifier[0]",
    )
    .await;
    // Update-as-create is held to the same.
    claims["id"] = json!("claims");
    refused(
        send(c, &s, "PUT", "Patient/claims", &claims).await,
        "Patient.identifier[0]",
    )
    .await;

    // Nothing refused was stored.
    assert_eq!(total(c, &s, "Patient?family=Ugyldig").await, 0);
    assert_eq!(total(c, &s, "Patient?family=Paastand").await, 0);
    let r = c.get(s.url("Patient/claims")).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

async fn a_norwegian_tenant_refuses_what_no_basis_does_not_allow(s: TestServer) {
    let c = &s.client;
    let other = other_tenant(&s).await;
    set_level(&s, "norwegian");
    assert_eq!(level(&s).await, ValidationLevel::Norwegian);

    // Patient: the HNR slice's rules, with the paths of the offending identifier.
    let outcome = refused(
        send(c, &s, "POST", "Patient", &hnr_patient("Lokal")).await,
        "Patient.identifier[0]",
    )
    .await;
    assert!(
        outcome.to_string().contains("no-basis-Patient"),
        "{outcome}"
    );
    let mut valid = plain_patient("Gyldig");
    valid["identifier"] = json!([{"system": FNR_SYSTEM, "value": FNR}]);
    let patient = json_with_status(send(c, &s, "POST", "Patient", &valid).await, 201).await;
    let patient_id = patient["id"].as_str().unwrap().to_string();

    // An update that breaks the profile changes nothing.
    let mut broken = hnr_patient("Gyldig");
    broken["id"] = json!(patient_id);
    refused(
        send(c, &s, "PUT", &format!("Patient/{patient_id}"), &broken).await,
        "Patient.identifier[0]",
    )
    .await;
    let read = json_with_status(
        c.get(s.url(&format!("Patient/{patient_id}")))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(read["meta"]["versionId"], "1", "{read}");
    assert_eq!(read["identifier"][0]["system"], FNR_SYSTEM, "{read}");

    // MedicationStatement: no-basis asks for the medication by reference.
    refused(
        send(
            c,
            &s,
            "POST",
            "MedicationStatement",
            &coded_statement(&patient_id),
        )
        .await,
        "MedicationStatement.medication",
    )
    .await;
    json_with_status(
        send(
            c,
            &s,
            "POST",
            "MedicationStatement",
            &referenced_statement(&patient_id),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        total(
            c,
            &s,
            &format!("MedicationStatement?subject=Patient/{patient_id}")
        )
        .await,
        1
    );
    assert_eq!(total(c, &s, "Patient?family=Lokal").await, 0);

    // The other tenant is still at core: what no-basis refuses, R4 accepts there.
    let r = send(&other, &s, "POST", "Patient", &hnr_patient("Lokal")).await;
    let created = json_with_status(r, 201).await;
    assert_eq!(created["identifier"][0]["system"], "HNR");
    assert_eq!(total(&other, &s, "Patient?family=Lokal").await, 1);
    assert_eq!(total(c, &s, "Patient?family=Lokal").await, 0);

    // And back: the level applies from the next write on.
    s.state
        .store
        .set_write_validation(&s.state.tenant.id, ValidationLevel::Core)
        .await
        .unwrap();
    json_with_status(
        send(c, &s, "POST", "Patient", &hnr_patient("Lokal")).await,
        201,
    )
    .await;
}

async fn validate_answers_what_a_write_would(s: TestServer) {
    let c = &s.client;
    let other = other_tenant(&s).await;
    set_level(&s, "norwegian");
    let validate = |client: &Client, query: &str, body: Value| {
        let url = s.url(&format!("Patient/$validate{query}"));
        let client = client.clone();
        async move {
            let r = client
                .post(url)
                .header("Content-Type", "application/fhir+json")
                .body(body.to_string())
                .send()
                .await
                .expect("request");
            json_with_status(r, 200).await
        }
    };
    // mode=delete needs no body: it nominates a stored resource.
    let nominate = |client: &Client, path: &str| {
        let url = s.url(path);
        let client = client.clone();
        async move {
            let r = client.post(url).send().await.expect("request");
            json_with_status(r, 200).await
        }
    };

    // Without a profile, the tenant's level: Norwegian here, core for the other tenant.
    let here = validate(c, "?mode=create", hnr_patient("Lokal")).await;
    assert!(
        error_paths(&here)
            .iter()
            .any(|p| p.starts_with("Patient.identifier[0]")),
        "{here}"
    );
    let there = validate(&other, "?mode=create", hnr_patient("Lokal")).await;
    assert!(error_paths(&there).is_empty(), "{there}");
    // The platform's own rules come too, as a write would refuse them.
    let mut bad_fnr = plain_patient("Feil");
    bad_fnr["identifier"] = json!([{"system": FNR_SYSTEM, "value": "13057444850"}]);
    let rules = validate(&other, "", bad_fnr).await;
    assert!(!error_paths(&rules).is_empty(), "{rules}");
    // A profile named wins over the level.
    let named = validate(
        &other,
        &format!("?profile={NO_BASIS_PATIENT}"),
        hnr_patient("Lokal"),
    )
    .await;
    assert!(!error_paths(&named).is_empty(), "{named}");

    // update: the resource carries the nominated id.
    let no_id = validate(c, "?mode=update", plain_patient("Ny")).await;
    assert_eq!(error_paths(&no_id), vec!["Patient.id"], "{no_id}");
    let mut with_id = plain_patient("Ny");
    with_id["id"] = json!("p1");
    let mismatch = validate(c, "?mode=update&id=p2", with_id.clone()).await;
    assert_eq!(error_paths(&mismatch), vec!["Patient.id"], "{mismatch}");
    let fine = validate(c, "?mode=update&id=p1", with_id.clone()).await;
    assert!(error_paths(&fine).is_empty(), "{fine}");
    // The same as Parameters.
    let parameters = json!({"resourceType": "Parameters", "parameter": [
        {"name": "resource", "resource": with_id.clone()},
        {"name": "mode", "valueCode": "update"},
        {"name": "id", "valueString": "p2"}
    ]});
    let mismatch = validate(c, "", parameters).await;
    assert_eq!(error_paths(&mismatch), vec!["Patient.id"], "{mismatch}");

    // delete: the nominated resource must exist in this tenant.
    let stored = s.create(&plain_patient("Finnes")).await;
    let id = stored["id"].as_str().unwrap();
    let ok = nominate(c, &format!("Patient/$validate?mode=delete&id={id}")).await;
    assert!(error_paths(&ok).is_empty(), "{ok}");
    assert_eq!(ok["issue"][0]["severity"], "information", "{ok}");
    for (client, id) in [(c, "no-such-patient"), (&other, id)] {
        let missing = nominate(client, &format!("Patient/$validate?mode=delete&id={id}")).await;
        assert_eq!(missing["issue"][0]["code"], "not-found", "{missing}");
    }
    // The instance-level form nominates the resource in the URL.
    let ok = nominate(c, &format!("Patient/{id}/$validate?mode=delete")).await;
    assert!(error_paths(&ok).is_empty(), "{ok}");
    let missing = nominate(c, "Patient/no-such-patient/$validate?mode=delete").await;
    assert_eq!(missing["issue"][0]["code"], "not-found", "{missing}");
    let r = c
        .post(s.url("Patient/p2/$validate?mode=update"))
        .header("Content-Type", "application/fhir+json")
        .body(with_id.to_string())
        .send()
        .await
        .unwrap();
    let mismatch = json_with_status(r, 200).await;
    assert_eq!(error_paths(&mismatch), vec!["Patient.id"], "{mismatch}");
    // An unknown mode, and a delete without a nominated resource, cannot be validated.
    let r = c
        .post(s.url("Patient/$validate?mode=upsert"))
        .header("Content-Type", "application/fhir+json")
        .body(plain_patient("X").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .post(s.url("Patient/$validate?mode=delete"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Nothing was stored by any of it.
    assert_eq!(total(c, &s, "Patient").await, 1);
    assert_eq!(total(&other, &s, "Patient").await, 0);
}

on_both_backends!(
    a_core_tenant_accepts_r4_and_refuses_what_is_not,
    a_norwegian_tenant_refuses_what_no_basis_does_not_allow,
    validate_answers_what_a_write_would,
);
