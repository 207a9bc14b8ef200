//! `POST [base]/{type}/$validate`: R4 structure and the profiles Helsebro carries, an
//! OperationOutcome with every issue, nothing stored.

use helsebro_blackbox::{json_with_status, on_both_backends, TestServer};
use serde_json::{json, Value};

const MEDICATION: &str = "http://hl7.no/fhir/StructureDefinition/no-basis-Medication";

fn medication() -> Value {
    json!({
        "resourceType": "Medication",
        "meta": {"profile": [MEDICATION]},
        "code": {"coding": [
            {"system": "http://ehelse.no/fhir/CodeSystem/FEST", "code": "ID_1", "display": "Paracet tab 500 mg"},
            {"system": "http://www.whocc.no/atc", "code": "N02BE01", "display": "Paracetamol"}
        ]},
        "form": {"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.7448", "code": "53", "display": "Tablett"}]}
    })
}

fn errors(outcome: &Value) -> Vec<&Value> {
    outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["severity"] == "error")
        .collect()
}

on_both_backends!(validate_reports_every_issue_and_stores_nothing);

async fn validate_reports_every_issue_and_stores_nothing(s: TestServer) {
    // Valid against the profile it claims: one informational issue.
    let ok = json_with_status(
        s.post_json("Medication/$validate", &medication()).await,
        200,
    )
    .await;
    assert_eq!(ok["resourceType"], "OperationOutcome");
    assert!(errors(&ok).is_empty(), "{ok}");
    assert_eq!(ok["issue"][0]["severity"], "information");

    // The profile's own rules: no-basis-Medication requires a form.
    let mut without_form = medication();
    without_form.as_object_mut().unwrap().remove("form");
    let bad = json_with_status(
        s.post_json("Medication/$validate", &without_form).await,
        200,
    )
    .await;
    let found = errors(&bad);
    assert_eq!(found.len(), 1, "{bad}");
    assert_eq!(found[0]["expression"][0], "Medication.form");
    assert!(found[0]["diagnostics"]
        .as_str()
        .unwrap()
        .contains("no-basis-Medication"));

    // As Parameters, with the profile named there; R4 structure errors come too.
    let mut plain = without_form.clone();
    plain.as_object_mut().unwrap().remove("meta");
    plain["status"] = json!("unheard-of");
    plain["colour"] = json!("blue");
    let parameters = json!({"resourceType": "Parameters", "parameter": [
        {"name": "resource", "resource": plain},
        {"name": "profile", "valueUri": MEDICATION}
    ]});
    let bad = json_with_status(s.post_json("Medication/$validate", &parameters).await, 200).await;
    let expressions: Vec<&str> = errors(&bad)
        .iter()
        .filter_map(|i| i["expression"][0].as_str())
        .collect();
    assert!(expressions.contains(&"Medication.form"), "{bad}");
    assert!(expressions.iter().any(|e| e.contains("colour")), "{bad}");

    // A profile we do not carry, asked for by name, is an error.
    let unknown = json_with_status(
        s.post_json(
            "Medication/$validate?profile=http://example.org/StructureDefinition/nope",
            &medication(),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(errors(&unknown).len(), 1, "{unknown}");

    // The URL's type must be the body's; unknown types and anonymous callers are refused.
    let r = s.post_json("Patient/$validate", &medication()).await;
    assert_eq!(r.status(), 400);
    let r = s.post_json("Spaceship/$validate", &medication()).await;
    assert_eq!(r.status(), 404);
    let r = s
        .anonymous
        .post(s.url("Medication/$validate"))
        .header("content-type", "application/fhir+json")
        .body(medication().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Nothing is stored, even of a served type.
    let patient = json!({"resourceType": "Patient", "name": [{"family": "Validert"}]});
    let ok = json_with_status(s.post_json("Patient/$validate", &patient).await, 200).await;
    assert!(errors(&ok).is_empty(), "{ok}");
    let search = json_with_status(s.get("Patient?_summary=count").await, 200).await;
    assert_eq!(search["total"], 0, "{search}");
}

on_both_backends!(validate_names_each_kind_of_violation_by_path);

/// Through HTTP, one hand-made violation of each kind the validator knows beyond the profile
/// rules above: a core required binding, an invariant of the resource and of a data type,
/// an extension outside its context, and a violation inside a Bundle entry. The R4 example
/// it starts from is valid.
async fn validate_names_each_kind_of_violation_by_path(s: TestServer) {
    let patient = crate::r4_examples::example("Patient-example.json");
    let ok = json_with_status(s.post_json("Patient/$validate", &patient).await, 200).await;
    assert!(errors(&ok).is_empty(), "{ok}");

    let edit = |f: &dyn Fn(&mut Value)| {
        let mut p = patient.clone();
        f(&mut p);
        p
    };
    let observation = json!({
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
        "dataAbsentReason": {"text": "measured anyway"}
    });
    let cases: Vec<(&str, Value, &str, &str, &str)> = vec![
        (
            "Patient",
            edit(&|p| p["gender"] = json!("mann")),
            "code-invalid",
            "Patient.gender",
            "",
        ),
        (
            "Patient",
            edit(&|p| p["contact"] = json!([{"gender": "female"}])),
            "invariant",
            "Patient.contact[0]",
            "pat-1",
        ),
        (
            "Patient",
            edit(&|p| p["name"][0]["period"] = json!({"start": "2020-01-01", "end": "2019-01-01"})),
            "invariant",
            "Patient.name[0].period",
            "per-1",
        ),
        (
            "Patient",
            edit(&|p| {
                p["extension"] = json!([{
                    "url": "http://hl7.no/fhir/StructureDefinition/no-basis-municipalitycode",
                    "valueCoding": {"system": "urn:oid:2.16.578.1.12.4.1.1.3402", "code": "0301"}
                }])
            }),
            "extension",
            "Patient.extension[0]",
            "",
        ),
        (
            "Observation",
            observation.clone(),
            "invariant",
            "Observation",
            "obs-6",
        ),
        (
            "Bundle",
            json!({"resourceType": "Bundle", "type": "collection", "entry": [
                {"fullUrl": "urn:uuid:5b2f0c1e-2a44-4c4e-9a57-0c1d2e3f4a5b", "resource": observation}
            ]}),
            "invariant",
            "Bundle.entry[0].resource",
            "obs-6",
        ),
    ];
    for (rtype, resource, code, path, key) in cases {
        let outcome = json_with_status(
            s.post_json(&format!("{rtype}/$validate"), &resource).await,
            200,
        )
        .await;
        let found = errors(&outcome);
        let hit = found.iter().find(|i| i["expression"][0] == path);
        let hit = hit.unwrap_or_else(|| panic!("no error at {path}: {outcome}"));
        assert_eq!(hit["code"], code, "{outcome}");
        assert!(
            hit["diagnostics"].as_str().unwrap().contains(key),
            "{key}: {outcome}"
        );
    }
}
