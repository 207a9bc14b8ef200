//! The write rule for references: a literal reference to one of the served types (Patient,
//! Observation, Communication, MedicationStatement, Practitioner, Organization) must resolve
//! to a resource of the tenant that exists, or the write is refused with 422 at the
//! reference's path and nothing is written; references to other types, to other servers and
//! by identifier only are kept as written.
//!
//! That a resource of another tenant does not count cannot be tested yet: every request acts
//! for the default tenant.

use helsebro_blackbox::reqwest::Method;
use helsebro_blackbox::{json_with_status, on_both_backends, TestServer};
use serde_json::{json, Value};

use crate::observation::{
    diagnostics, expressions, heart_rate, patient_ref, refused_at, round_trip, unprocessable,
};
use crate::rest::{create_patient, id_of, with};

const FNR_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.4.1";

// --- helpers ---------------------------------------------------------------------------

fn reference(to: &str) -> Value {
    json!({"reference": to})
}

/// A heart rate whose subject is the reference `subject`.
fn about(subject: &str) -> Value {
    with(
        heart_rate("placeholder", 64.0),
        "subject",
        reference(subject),
    )
}

// --- unresolved references ---------------------------------------------------------------

async fn unknown_patient_is_422_at_the_subject_and_writes_nothing(s: TestServer) {
    let outcome = unprocessable(
        &s,
        &about("Patient/unknown"),
        &["Observation.subject.reference"],
    )
    .await;
    assert!(
        diagnostics(&outcome).contains("Patient/unknown"),
        "{outcome}"
    );
    let bundle = json_with_status(s.get("Observation?patient=unknown").await, 200).await;
    assert_eq!(bundle["total"], 0, "{bundle}");
}

async fn deleted_patient_cannot_be_referenced(s: TestServer) {
    let p = create_patient(&s).await;
    let r = s.delete(&patient_ref(&p)).await;
    assert_eq!(r.status(), 204, "delete the patient");
    unprocessable(
        &s,
        &about(&patient_ref(&p)),
        &["Observation.subject.reference"],
    )
    .await;
}

async fn reference_to_another_served_type_with_that_id_is_422(s: TestServer) {
    let p = create_patient(&s).await;
    let by_a_practitioner = json!([reference(&format!("Practitioner/{p}"))]);
    let o = with(about(&patient_ref(&p)), "performer", by_a_practitioner);
    unprocessable(&s, &o, &["Observation.performer[0].reference"]).await;
}

async fn every_unresolved_reference_is_named_in_document_order(s: TestServer) {
    let p = create_patient(&s).await;
    let mut o = about("Patient/unknown");
    o["performer"] = json!([
        reference(&patient_ref(&p)),
        reference("Practitioner/nobody")
    ]);
    o["hasMember"] = json!([reference("Observation/none")]);
    unprocessable(
        &s,
        &o,
        &[
            "Observation.subject.reference",
            "Observation.performer[1].reference",
            "Observation.hasMember[0].reference",
        ],
    )
    .await;
}

async fn update_that_would_create_checks_references(s: TestServer) {
    let o = with(about("Patient/unknown"), "id", json!("hr-1"));
    let outcome = refused_at(&s, Method::PUT, "Observation/hr-1", &o, 422).await;
    assert_eq!(expressions(&outcome), ["Observation.subject.reference"]);
    let r = s.get("Observation/hr-1").await;
    assert_eq!(r.status(), 404, "the refused update created the resource");
}

async fn refused_update_keeps_the_current_version(s: TestServer) {
    let p = create_patient(&s).await;
    let created = s.create(&about(&patient_ref(&p))).await;
    let path = format!("Observation/{}", id_of(&created));
    let changed = with(created.clone(), "subject", reference("Patient/unknown"));
    refused_at(&s, Method::PUT, &path, &changed, 422).await;
    let current = json_with_status(s.get(&path).await, 200).await;
    assert_eq!(current, created);
}

/// An absolute URL with this server's base names a resource on this server, as a search
/// for it does: it must resolve like the relative reference.
async fn absolute_reference_to_this_server_must_resolve(s: TestServer) {
    let url = format!("{}/Patient/unknown", s.base);
    unprocessable(&s, &about(&url), &["Observation.subject.reference"]).await;
}

async fn absolute_reference_to_this_server_that_resolves_is_kept(s: TestServer) {
    let p = create_patient(&s).await;
    let url = format!("{}/{}", s.base, patient_ref(&p));
    round_trip(&s, &about(&url)).await;
}

async fn references_are_checked_on_every_served_type(s: TestServer) {
    let p = create_patient(&s).await;
    let nobody = reference("Practitioner/nobody");
    let no_org = reference("Organization/nobody");
    let mut message = json!({
        "resourceType": "Communication",
        "status": "in-progress",
        "subject": reference(&patient_ref(&p)),
        "recipient": [nobody.clone()],
        "payload": [{"contentString": "Hei"}]
    });
    let statement = json!({
        "resourceType": "MedicationStatement",
        "status": "active",
        "medicationCodeableConcept": {"text": "Paracet"},
        "subject": reference(&patient_ref(&p)),
        "informationSource": nobody.clone()
    });
    let cases = [
        (
            json!({"resourceType": "Patient", "generalPractitioner": [nobody.clone()]}),
            "Patient.generalPractitioner[0].reference",
        ),
        (
            json!({"resourceType": "Patient", "managingOrganization": no_org.clone()}),
            "Patient.managingOrganization.reference",
        ),
        (message.clone(), "Communication.recipient[0].reference"),
        (statement, "MedicationStatement.informationSource.reference"),
        (
            json!({"resourceType": "Organization", "name": "Avdeling", "partOf": no_org.clone()}),
            "Organization.partOf.reference",
        ),
        (
            json!({"resourceType": "Practitioner", "qualification": [
                {"code": {"text": "Sykepleier"}, "issuer": no_org}
            ]}),
            "Practitioner.qualification[0].issuer.reference",
        ),
    ];
    for (resource, expression) in &cases {
        unprocessable(&s, resource, &[expression]).await;
    }
    // The same message to a recipient that exists is accepted.
    message["recipient"] = json!([reference(&patient_ref(&p))]);
    round_trip(&s, &message).await;
}

// --- references kept as written ------------------------------------------------------------

async fn references_to_unserved_types_are_kept_as_written(s: TestServer) {
    let p = create_patient(&s).await;
    let mut o = about(&patient_ref(&p));
    o["basedOn"] = json!([reference("ServiceRequest/monitoring-plan")]);
    o["encounter"] = reference("Encounter/x");
    o["device"] = reference("Device/omron-7");
    o["specimen"] = reference("Specimen/never-stored");
    round_trip(&s, &o).await;
}

async fn versioned_reference_resolves_to_the_resource(s: TestServer) {
    let p = create_patient(&s).await;
    round_trip(&s, &about(&format!("Patient/{p}/_history/1"))).await;
}

async fn versioned_reference_is_found_by_a_search_for_the_resource(s: TestServer) {
    let p = create_patient(&s).await;
    let id = round_trip(&s, &about(&format!("Patient/{p}/_history/1"))).await;
    let bundle = json_with_status(s.get(&format!("Observation?patient={p}")).await, 200).await;
    assert_eq!(bundle["total"], 1, "{bundle}");
    assert_eq!(bundle["entry"][0]["resource"]["id"], id.as_str());
}

async fn reference_to_another_server_is_kept_as_written(s: TestServer) {
    round_trip(&s, &about("http://other.example.org/fhir/Patient/unknown")).await;
}

async fn logical_reference_by_identifier_is_kept_as_written(s: TestServer) {
    let by_identifier = json!({
        "identifier": {"system": FNR_SYSTEM, "value": "13116900216"},
        "display": "Line Danser"
    });
    round_trip(&s, &with(about("x"), "subject", by_identifier)).await;
}

on_both_backends!(
    unknown_patient_is_422_at_the_subject_and_writes_nothing,
    deleted_patient_cannot_be_referenced,
    reference_to_another_served_type_with_that_id_is_422,
    every_unresolved_reference_is_named_in_document_order,
    update_that_would_create_checks_references,
    refused_update_keeps_the_current_version,
    absolute_reference_to_this_server_must_resolve,
    absolute_reference_to_this_server_that_resolves_is_kept,
    references_are_checked_on_every_served_type,
    references_to_unserved_types_are_kept_as_written,
    versioned_reference_resolves_to_the_resource,
    versioned_reference_is_found_by_a_search_for_the_resource,
    reference_to_another_server_is_kept_as_written,
    logical_reference_by_identifier_is_kept_as_written,
);
