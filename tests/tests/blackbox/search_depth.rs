//! Search beyond single parameters: chains and reverse chains, `_include`/`_revinclude`
//! (`:iterate`, `*`), `_sort` with paging, the modifiers `:text`, `:of-type`,
//! `:identifier`, `:above`/`:below` and type modifiers, composite parameters, `_total`,
//! `_summary=true`, compartments, system-level search and history `_at`.
//!
//! Every test runs on a fresh database, so the expected results are exact.

use std::collections::BTreeSet;

use helsebro_blackbox::reqwest::Method;
use helsebro_blackbox::{json_with_status, on_both_backends, TestServer};
use serde_json::{json, Value};

use crate::observation::{entry_ids, link};
use crate::rest::id_of;

const LOINC: &str = "http://loinc.org";
const LOCAL_ID: &str = "urn:oid:2.16.578.1.12.4.1.2.9999";
const V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";
const HPR: &str = "urn:oid:2.16.578.1.12.4.1.4.4";
const NO_BASIS_PATIENT: &str = "http://hl7.no/fhir/StructureDefinition/no-basis-Patient";

/// The data every test searches: two practitioners, an organization, three patients
/// (two with a fastlege), their measurements and a message.
struct World {
    alfa: String,
    beta: String,
    org: String,
    hansen: String,
    olsen: String,
    aas: String,
    /// hansen's heart rates (60 and 72), olsen's heart rate (90), hansen's weight (80 kg).
    hr_hansen_60: String,
    hr_hansen_72: String,
    hr_olsen: String,
    weight_hansen: String,
    bp_olsen: String,
    message: String,
}

fn coding(system: &str, code: &str, display: &str) -> Value {
    json!({"system": system, "code": code, "display": display})
}

fn heart_rate(patient: &str, bpm: i64, when: &str, performer: Option<&str>) -> Value {
    let mut o = json!({
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [coding("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs", "Vital Signs")]}],
        "code": {"coding": [coding(LOINC, "8867-4", "Heart rate")], "text": "Puls"},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": when,
        "valueQuantity": {"value": bpm, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}
    });
    if let Some(p) = performer {
        o["performer"] = json!([{"reference": format!("Practitioner/{p}")}]);
    }
    o
}

fn body_weight(patient: &str, kg: i64) -> Value {
    json!({
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [coding("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs", "Vital Signs")]}],
        "code": {"coding": [coding(LOINC, "29463-7", "Body weight")], "text": "Vekt"},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": "2026-11-02T08:00:00+01:00",
        "valueQuantity": {"value": kg, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}
    })
}

fn blood_pressure(patient: &str, systolic: i64, diastolic: i64) -> Value {
    let part = |code: &str, display: &str, v: i64| {
        json!({
            "code": {"coding": [coding(LOINC, code, display)]},
            "valueQuantity": {"value": v, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}
        })
    };
    json!({
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [coding("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs", "Vital Signs")]}],
        "code": {"coding": [coding(LOINC, "85354-9", "Blood pressure panel with all children optional")]},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": "2026-11-03T08:00:00+01:00",
        "component": [
            part("8480-6", "Systolic blood pressure", systolic),
            part("8462-4", "Diastolic blood pressure", diastolic)
        ]
    })
}

fn patient(family: &str, birth: &str, gender: &str, local_id: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "meta": {"profile": [NO_BASIS_PATIENT]},
        "identifier": [{
            "type": {"coding": [{"system": V2_0203, "code": "MR"}]},
            "system": LOCAL_ID,
            "value": local_id
        }],
        "name": [{"family": family, "given": ["Test"]}],
        "gender": gender,
        "birthDate": birth
    })
}

async fn create(s: &TestServer, resource: Value) -> String {
    id_of(&s.create(&resource).await)
}

impl World {
    async fn load(s: &TestServer) -> World {
        let practitioner = |name: &str| json!({"resourceType": "Practitioner", "name": [{"family": name, "given": ["Lege"]}]});
        let alfa = create(s, practitioner("Alfa")).await;
        let beta = create(s, practitioner("Beta")).await;
        let org = create(
            s,
            json!({"resourceType": "Organization", "name": "Helse Nord legekontor"}),
        )
        .await;
        let mut p = patient("Hansen", "1950-03-01", "male", "A-1");
        p["generalPractitioner"] = json!([{"reference": format!("Practitioner/{alfa}")}]);
        let hansen = create(s, p).await;
        let mut p = patient("Olsen", "1980-05-05", "female", "B-2");
        p["generalPractitioner"] = json!([
            {"reference": format!("Practitioner/{beta}")},
            {"reference": format!("Organization/{org}")}
        ]);
        let olsen = create(s, p).await;
        let aas = create(s, patient("Aas", "1990-07-07", "female", "C-3")).await;
        let hr_hansen_60 = create(
            s,
            heart_rate(&hansen, 60, "2026-11-01T08:00:00+01:00", Some(&alfa)),
        )
        .await;
        let hr_hansen_72 = create(
            s,
            heart_rate(&hansen, 72, "2026-11-05T08:00:00+01:00", None),
        )
        .await;
        let hr_olsen = create(
            s,
            heart_rate(&olsen, 90, "2026-11-03T08:00:00+01:00", Some(&beta)),
        )
        .await;
        let weight_hansen = create(s, body_weight(&hansen, 80)).await;
        let bp_olsen = create(s, blood_pressure(&olsen, 150, 95)).await;
        let message = create(
            s,
            crate::communication::message(
                &olsen,
                &format!("Patient/{olsen}"),
                &format!("Practitioner/{beta}"),
                "Pulsen er høy i dag.",
            ),
        )
        .await;
        World {
            alfa,
            beta,
            org,
            hansen,
            olsen,
            aas,
            hr_hansen_60,
            hr_hansen_72,
            hr_olsen,
            weight_hansen,
            bp_olsen,
            message,
        }
    }
}

pub(crate) async fn bundle(s: &TestServer, path: &str, params: &[(&str, &str)]) -> Value {
    let r = s
        .request(Method::GET, path)
        .query(params)
        .send()
        .await
        .expect("request");
    let b = json_with_status(r, 200).await;
    assert_eq!(b["type"], "searchset", "{b}");
    b
}

/// The searchset (or OperationOutcome) `path` with `params` gives under `token`.
pub(crate) async fn bundle_as(
    s: &TestServer,
    token: &str,
    path: &str,
    params: &[(&str, &str)],
) -> Value {
    s.client_with(token)
        .get(s.url(path))
        .query(params)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

/// The ids of the entries with `search.mode` = `mode`.
pub(crate) fn ids_with_mode(b: &Value, mode: &str) -> BTreeSet<String> {
    b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == mode)
        .map(|e| {
            let r = &e["resource"];
            format!(
                "{}/{}",
                r["resourceType"].as_str().unwrap(),
                r["id"].as_str().unwrap()
            )
        })
        .collect()
}

/// Asserts that searching `path` with `params` matches exactly `expected`.
async fn expect(s: &TestServer, path: &str, params: &[(&str, &str)], expected: BTreeSet<String>) {
    assert_eq!(
        matches(s, path, params).await,
        expected,
        "{path} {params:?}"
    );
}

/// Each case: the type searched, its parameters, and exactly what they must match.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], BTreeSet<String>);

async fn expect_all(s: &TestServer, cases: &[Case<'_>]) {
    for (path, params, expected) in cases {
        expect(s, path, params, expected.clone()).await;
    }
}

async fn matches(s: &TestServer, path: &str, params: &[(&str, &str)]) -> BTreeSet<String> {
    ids_with_mode(&bundle(s, path, params).await, "match")
}

fn set(ids: &[String]) -> BTreeSet<String> {
    ids.iter().cloned().collect()
}

fn obs(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|i| format!("Observation/{i}")).collect()
}

pub(crate) async fn refused(
    s: &TestServer,
    path: &str,
    params: &[(&str, &str)],
    status: u16,
) -> String {
    let r = s
        .request(Method::GET, path)
        .query(params)
        .send()
        .await
        .expect("request");
    let outcome = json_with_status(r, status).await;
    assert_eq!(outcome["resourceType"], "OperationOutcome", "{outcome}");
    outcome["issue"][0]["diagnostics"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

on_both_backends!(
    chains_follow_references_one_and_two_levels,
    reverse_chains_nest,
    includes_and_revincludes_iterate,
    includes_stay_within_a_patient_token,
    sort_orders_and_pages_by_offset,
    modifiers_text_of_type_identifier_above_below_and_type,
    composite_parameters_match_code_and_value_on_one_element,
    totals_are_counted_only_when_asked,
    summary_true_keeps_the_summary_elements,
    compartments_confine_a_search,
    system_search_spans_types,
    history_at_gives_the_versions_current_then,
    reindex_rebuilds_index_rows_written_before_an_upgrade,
);

async fn chains_follow_references_one_and_two_levels(s: TestServer) {
    let w = World::load(&s).await;
    let hansen_obs = obs(&[&w.hr_hansen_60, &w.hr_hansen_72, &w.weight_hansen]);
    let olsen_obs = obs(&[&w.hr_olsen, &w.bp_olsen]);
    let a1 = format!("{LOCAL_ID}|A-1");
    expect_all(
        &s,
        &[
            (
                "Observation",
                &[("patient.name", "hansen")],
                hansen_obs.clone(),
            ),
            (
                "Observation",
                &[("subject:Patient.identifier", &a1)],
                hansen_obs,
            ),
            (
                "Observation",
                &[("patient.birthdate", "ge1970"), ("code", "8867-4")],
                obs(&[&w.hr_olsen]),
            ),
            // Two levels: the patient's fastlege's name; an Organization as fastlege
            // matches by its own name parameter.
            (
                "Observation",
                &[("patient.general-practitioner:Practitioner.name", "beta")],
                olsen_obs.clone(),
            ),
            (
                "Observation",
                &[("patient.general-practitioner.name", "helse nord")],
                olsen_obs,
            ),
            (
                "Communication",
                &[("sender:Patient.gender", "female")],
                set(&[format!("Communication/{}", w.message)]),
            ),
            ("Observation", &[("patient.name", "nobody")], set(&[])),
        ],
    )
    .await;
    let why = refused(&s, "Observation", &[("patient.shoe-size", "42")], 400).await;
    assert!(why.contains("shoe-size"), "{why}");
    let why = refused(&s, "Observation", &[("code.name", "x")], 400).await;
    assert!(why.contains("only references can be chained"), "{why}");
}

async fn reverse_chains_nest(s: TestServer) {
    let w = World::load(&s).await;
    let patients = |ids: &[&String]| -> BTreeSet<String> {
        ids.iter().map(|i| format!("Patient/{i}")).collect()
    };
    let weight = format!("{LOINC}|29463-7");
    expect_all(
        &s,
        &[
            (
                "Patient",
                &[("_has:Observation:patient:code", &weight)],
                patients(&[&w.hansen]),
            ),
            (
                "Patient",
                &[("_has:Observation:patient:code", "8867-4")],
                patients(&[&w.hansen, &w.olsen]),
            ),
            (
                "Patient",
                &[("_has:Observation:subject:value-quantity", "gt85")],
                patients(&[&w.olsen]),
            ),
            // Nested: practitioners who are fastlege of a patient with a weight measurement.
            (
                "Practitioner",
                &[(
                    "_has:Patient:general-practitioner:_has:Observation:patient:code",
                    "29463-7",
                )],
                set(&[format!("Practitioner/{}", w.alfa)]),
            ),
            // Combined with the searched type's own parameters.
            (
                "Patient",
                &[
                    ("_has:Observation:patient:code", "8867-4"),
                    ("gender", "female"),
                ],
                patients(&[&w.olsen]),
            ),
            (
                "Patient",
                &[("_has:Observation:patient:code", "nope")],
                set(&[]),
            ),
        ],
    )
    .await;
    refused(&s, "Patient", &[("_has:Observation:code", "x")], 400).await;
    refused(
        &s,
        "Patient",
        &[("_has:Observation:code:status", "final")],
        400,
    )
    .await;
    refused(&s, "Patient", &[("_has:Nothing:patient:code", "x")], 400).await;
}

async fn includes_and_revincludes_iterate(s: TestServer) {
    let w = World::load(&s).await;
    let b = bundle(
        &s,
        "Observation",
        &[
            ("_id", w.hr_hansen_60.as_str()),
            ("_include", "Observation:patient"),
        ],
    )
    .await;
    assert_eq!(ids_with_mode(&b, "match"), obs(&[&w.hr_hansen_60]));
    assert_eq!(
        ids_with_mode(&b, "include"),
        set(&[format!("Patient/{}", w.hansen)])
    );
    assert_eq!(b["total"], 1, "includes are not counted: {b}");

    // Every reference, and a target type filter.
    let b = bundle(
        &s,
        "Observation",
        &[
            ("_id", w.hr_hansen_60.as_str()),
            ("_include", "Observation:*"),
        ],
    )
    .await;
    assert_eq!(
        ids_with_mode(&b, "include"),
        set(&[
            format!("Patient/{}", w.hansen),
            format!("Practitioner/{}", w.alfa)
        ])
    );
    let b = bundle(
        &s,
        "Observation",
        &[("_id", w.hr_hansen_60.as_str()), ("_include", "*")],
    )
    .await;
    assert_eq!(ids_with_mode(&b, "include").len(), 2, "{b}");
    let b = bundle(
        &s,
        "Observation",
        &[
            ("_id", w.hr_hansen_60.as_str()),
            ("_include", "Observation:subject:Practitioner"),
        ],
    )
    .await;
    assert!(ids_with_mode(&b, "include").is_empty(), "{b}");

    // Reverse: a patient and all its observations.
    let b = bundle(
        &s,
        "Patient",
        &[
            ("_id", w.hansen.as_str()),
            ("_revinclude", "Observation:patient"),
        ],
    )
    .await;
    assert_eq!(
        ids_with_mode(&b, "match"),
        set(&[format!("Patient/{}", w.hansen)])
    );
    assert_eq!(
        ids_with_mode(&b, "include"),
        obs(&[&w.hr_hansen_60, &w.hr_hansen_72, &w.weight_hansen])
    );

    // Iterate: observations → their patients → the patients' fastleger.
    let b = bundle(
        &s,
        "Observation",
        &[
            ("code", "8867-4"),
            ("_include", "Observation:patient"),
            ("_include:iterate", "Patient:general-practitioner"),
        ],
    )
    .await;
    assert_eq!(
        ids_with_mode(&b, "include"),
        set(&[
            format!("Patient/{}", w.hansen),
            format!("Patient/{}", w.olsen),
            format!("Practitioner/{}", w.alfa),
            format!("Practitioner/{}", w.beta),
            format!("Organization/{}", w.org),
        ])
    );
    // Reverse, then iterate forward: a practitioner's patients and their messages.
    let b = bundle(
        &s,
        "Practitioner",
        &[
            ("_id", w.beta.as_str()),
            ("_revinclude", "Patient:general-practitioner"),
            ("_revinclude:iterate", "Communication:patient"),
        ],
    )
    .await;
    assert_eq!(
        ids_with_mode(&b, "include"),
        set(&[
            format!("Patient/{}", w.olsen),
            format!("Communication/{}", w.message)
        ])
    );
    // Without :iterate, an include names the searched type.
    refused(
        &s,
        "Observation",
        &[("_include", "Patient:general-practitioner")],
        400,
    )
    .await;
    refused(&s, "Observation", &[("_include", "Observation:code")], 400).await;
    refused(&s, "Observation", &[("_include", "Observation")], 400).await;
}

async fn includes_stay_within_a_patient_token(s: TestServer) {
    let w = World::load(&s).await;
    let token = s.token("patient/*.rs", Some(&w.olsen)).await;
    let b = bundle_as(
        &s,
        &token,
        "Practitioner",
        &[
            ("_revinclude", "Patient:general-practitioner"),
            ("_revinclude:iterate", "Observation:patient"),
        ],
    )
    .await;
    assert_eq!(b["resourceType"], "Bundle", "{b}");
    let included = ids_with_mode(&b, "include");
    assert!(included.contains(&format!("Patient/{}", w.olsen)), "{b}");
    assert!(
        included.contains(&format!("Observation/{}", w.hr_olsen)),
        "{b}"
    );
    for id in [
        &w.hansen,
        &w.hr_hansen_60,
        &w.hr_hansen_72,
        &w.weight_hansen,
    ] {
        assert!(
            !included.iter().any(|i| i.ends_with(&format!("/{id}"))),
            "another patient's data was included: {b}"
        );
    }
    // A chain through data the token cannot reach matches nothing of it.
    let b = bundle_as(&s, &token, "Observation", &[("patient.name", "hansen")]).await;
    assert!(entry_ids(&b).is_empty(), "{b}");
}

/// The type searched, its parameters, and the ids in the order expected.
type SortCase<'a> = (&'a str, &'a [(&'a str, &'a str)], Vec<&'a String>);

async fn sort_orders_and_pages_by_offset(s: TestServer) {
    let w = World::load(&s).await;
    let order = |b: &Value| entry_ids(b);
    let by_value_desc = vec![
        &w.hr_olsen,
        &w.weight_hansen,
        &w.hr_hansen_72,
        &w.hr_hansen_60,
        &w.bp_olsen,
    ];
    let cases: Vec<SortCase> = vec![
        (
            "Patient",
            &[("_sort", "birthdate")],
            vec![&w.hansen, &w.olsen, &w.aas],
        ),
        (
            "Patient",
            &[("_sort", "-birthdate")],
            vec![&w.aas, &w.olsen, &w.hansen],
        ),
        (
            "Patient",
            &[("_sort", "name")],
            vec![&w.aas, &w.hansen, &w.olsen],
        ),
        // Several keys: gender first (female < male), then the youngest first.
        (
            "Patient",
            &[("_sort", "gender,-birthdate")],
            vec![&w.aas, &w.olsen, &w.hansen],
        ),
        // By value, highest first; the blood pressure has no value and comes last.
        (
            "Observation",
            &[("_sort", "-value-quantity")],
            by_value_desc.clone(),
        ),
        (
            "Observation",
            &[("_sort", "date"), ("code", "8867-4")],
            vec![&w.hr_hansen_60, &w.hr_olsen, &w.hr_hansen_72],
        ),
    ];
    for (path, params, expected) in cases {
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(
            order(&bundle(&s, path, params).await),
            expected,
            "{params:?}"
        );
    }
    let by_value: Vec<String> = by_value_desc.into_iter().cloned().collect();
    // Paging a sorted search: the pages together are the whole order, once each.
    let mut seen = Vec::new();
    let mut page = bundle(
        &s,
        "Observation",
        &[("_sort", "-value-quantity"), ("_count", "2")],
    )
    .await;
    loop {
        seen.extend(order(&page));
        let Some(next) = link(&page, "next") else {
            break;
        };
        assert!(next.contains("_offset="), "{next}");
        page = json_with_status(s.get(&next).await, 200).await;
    }
    assert_eq!(seen, by_value);
    // A POSTed sorted search pages by its handle and an offset; its values stay out of links.
    let r = s
        .request(Method::POST, "Observation/_search")
        .form(&[("_sort", "-value-quantity"), ("_count", "2")])
        .send()
        .await
        .expect("request");
    let mut page = json_with_status(r, 200).await;
    let mut posted = Vec::new();
    loop {
        posted.extend(order(&page));
        let Some(next) = link(&page, "next") else {
            break;
        };
        assert!(
            next.contains("_page=") && next.contains("_offset="),
            "{next}"
        );
        assert!(!next.contains("value-quantity"), "{next}");
        page = json_with_status(s.get(&next).await, 200).await;
    }
    assert_eq!(posted, by_value);
    let why = refused(&s, "Patient", &[("_sort", "shoe-size")], 400).await;
    assert!(why.contains("shoe-size"), "{why}");
}

async fn modifiers_text_of_type_identifier_above_below_and_type(s: TestServer) {
    let w = World::load(&s).await;
    let patient_ref = |id: &str| set(&[format!("Patient/{id}")]);
    // :text matches the code's text and displays, by prefix, case- and accent-free.
    let heart_rates = obs(&[&w.hr_hansen_60, &w.hr_hansen_72, &w.hr_olsen]);
    expect(&s, "Observation", &[("code:text", "puls")], heart_rates).await;
    let weights = obs(&[&w.weight_hansen]);
    expect(&s, "Observation", &[("code:text", "BODY wei")], weights).await;
    // :of-type: the identifier's type and value.
    let mr = format!("{V2_0203}|MR|B-2");
    expect(
        &s,
        "Patient",
        &[("identifier:of-type", &mr)],
        patient_ref(&w.olsen),
    )
    .await;
    let nh = format!("{V2_0203}|NH|B-2");
    expect(&s, "Patient", &[("identifier:of-type", &nh)], set(&[])).await;
    refused(&s, "Patient", &[("identifier:of-type", "B-2")], 400).await;
    // :identifier: a logical reference (the fastlege by HPR number).
    let mut p = patient("Lund", "1985-02-02", "male", "F-6");
    p["generalPractitioner"] = json!([{
        "type": "Practitioner",
        "identifier": {"system": HPR, "value": "9144900"}
    }]);
    let lund = create(&s, p).await;
    let hpr = format!("{HPR}|9144900");
    let by_hpr = [("general-practitioner:identifier", hpr.as_str())];
    expect(&s, "Patient", &by_hpr, patient_ref(&lund)).await;
    let other = [("general-practitioner:identifier", "9144901")];
    expect(&s, "Patient", &other, set(&[])).await;
    // :above / :below on _profile (uri).
    let everyone: BTreeSet<String> = [&w.hansen, &w.olsen, &w.aas, &lund]
        .iter()
        .map(|i| format!("Patient/{i}"))
        .collect();
    expect(
        &s,
        "Patient",
        &[("_profile", NO_BASIS_PATIENT)],
        everyone.clone(),
    )
    .await;
    let below = [("_profile:below", "http://hl7.no/fhir/StructureDefinition")];
    expect(&s, "Patient", &below, everyone.clone()).await;
    let elsewhere = [("_profile:below", "http://hl7.no/fhir/ValueSet")];
    expect(&s, "Patient", &elsewhere, set(&[])).await;
    let deeper = format!("{NO_BASIS_PATIENT}/sub/level");
    expect(&s, "Patient", &[("_profile:above", &deeper)], everyone).await;
    let parent_only = [("_profile:above", "http://hl7.no/fhir")];
    expect(&s, "Patient", &parent_only, set(&[])).await;
    refused(&s, "Patient", &[("name:above", "x")], 400).await;
    // A type modifier on a reference.
    let as_org = [("general-practitioner:Organization", w.org.as_str())];
    expect(&s, "Patient", &as_org, patient_ref(&w.olsen)).await;
    let as_practitioner = [("general-practitioner:Practitioner", w.org.as_str())];
    expect(&s, "Patient", &as_practitioner, set(&[])).await;
    refused(
        &s,
        "Patient",
        &[("general-practitioner:Communication", "x")],
        400,
    )
    .await;
    // :missing and :not still apply; a logical reference is no literal one.
    let without_gp = set(&[format!("Patient/{}", w.aas), format!("Patient/{lund}")]);
    expect(
        &s,
        "Patient",
        &[("general-practitioner:missing", "true")],
        without_gp,
    )
    .await;
    let not_female = set(&[format!("Patient/{}", w.hansen), format!("Patient/{lund}")]);
    expect(&s, "Patient", &[("gender:not", "female")], not_female).await;
}

async fn composite_parameters_match_code_and_value_on_one_element(s: TestServer) {
    let w = World::load(&s).await;
    expect(
        &s,
        "Observation",
        &[("component-code-value-quantity", "8480-6$gt140")],
        obs(&[&w.bp_olsen]),
    )
    .await;
    // The systolic is 150, the diastolic 95: no component has 8462-4 above 100.
    assert!(matches(
        &s,
        "Observation",
        &[("component-code-value-quantity", "8462-4$gt100")]
    )
    .await
    .is_empty());
    assert!(
        matches(
            &s,
            "Observation",
            &[("component-code-value-quantity", "8867-4$gt50")]
        )
        .await
        .is_empty(),
        "heart rates have their value on the observation, not on a component"
    );
    expect(
        &s,
        "Observation",
        &[("combo-code-value-quantity", "8867-4$gt70")],
        obs(&[&w.hr_hansen_72, &w.hr_olsen]),
    )
    .await;
    expect(
        &s,
        "Observation",
        &[("combo-code-value-quantity", "8480-6$150")],
        obs(&[&w.bp_olsen]),
    )
    .await;
}

async fn totals_are_counted_only_when_asked(s: TestServer) {
    World::load(&s).await;
    // One page holding every match: the total costs nothing and is given.
    let b = bundle(&s, "Observation", &[]).await;
    assert_eq!(b["total"], 5, "{b}");
    // More than a page: no total unless asked.
    let b = bundle(&s, "Observation", &[("_count", "2")]).await;
    assert!(b.get("total").is_none(), "{b}");
    let b = bundle(
        &s,
        "Observation",
        &[("_count", "2"), ("_total", "accurate")],
    )
    .await;
    assert_eq!(b["total"], 5, "{b}");
    let b = bundle(
        &s,
        "Observation",
        &[("_count", "2"), ("_total", "estimate")],
    )
    .await;
    assert!(b["total"].as_i64().is_some_and(|n| n >= 0), "{b}");
    let b = bundle(&s, "Observation", &[("_total", "none")]).await;
    assert!(b.get("total").is_none(), "{b}");
    assert_eq!(entry_ids(&b).len(), 5);
    let b = bundle(
        &s,
        "Observation",
        &[("_summary", "count"), ("code", "8867-4")],
    )
    .await;
    assert_eq!(b["total"], 3, "{b}");
    assert!(b.get("entry").is_none(), "{b}");
    refused(&s, "Observation", &[("_total", "some")], 400).await;
}

async fn summary_true_keeps_the_summary_elements(s: TestServer) {
    let w = World::load(&s).await;
    let mut p = patient("Berg", "1960-01-01", "male", "D-4");
    p["contact"] = json!([{"name": {"family": "Berg"}, "telecom": [{"system": "phone", "value": "+47 99999999"}]}]);
    p["maritalStatus"] = json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M"}]});
    let berg = create(&s, p).await;
    let b = bundle(
        &s,
        "Patient",
        &[("_id", berg.as_str()), ("_summary", "true")],
    )
    .await;
    let r = &b["entry"][0]["resource"];
    assert_eq!(r["name"][0]["family"], "Berg", "{r}");
    assert_eq!(r["birthDate"], "1960-01-01", "{r}");
    assert!(
        r.get("contact").is_none(),
        "contact is not a summary element: {r}"
    );
    assert!(r.get("maritalStatus").is_none(), "{r}");
    assert!(
        r["meta"]["tag"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["code"] == "SUBSETTED"),
        "{r}"
    );
    let b = bundle(
        &s,
        "Observation",
        &[("_id", w.hr_olsen.as_str()), ("_summary", "true")],
    )
    .await;
    assert_eq!(b["entry"][0]["resource"]["valueQuantity"]["value"], 90);
    let b = bundle(
        &s,
        "Patient",
        &[("_id", berg.as_str()), ("_elements", "gender")],
    )
    .await;
    let r = &b["entry"][0]["resource"];
    assert_eq!(r["gender"], "male");
    assert!(r.get("name").is_none(), "{r}");
    let b = bundle(
        &s,
        "Patient",
        &[("_id", berg.as_str()), ("_summary", "false")],
    )
    .await;
    assert!(b["entry"][0]["resource"].get("contact").is_some());
}

async fn compartments_confine_a_search(s: TestServer) {
    let w = World::load(&s).await;
    assert_eq!(
        matches(&s, &format!("Patient/{}/Observation", w.hansen), &[]).await,
        obs(&[&w.hr_hansen_60, &w.hr_hansen_72, &w.weight_hansen])
    );
    let b = bundle(
        &s,
        &format!("Patient/{}/Observation", w.hansen),
        &[("code", "8867-4"), ("_count", "1")],
    )
    .await;
    assert_eq!(entry_ids(&b).len(), 1);
    let next = link(&b, "next").expect("a next page");
    assert!(
        next.contains(&format!("/Patient/{}/Observation?", w.hansen)),
        "{next}"
    );
    let second = json_with_status(s.get(&next).await, 200).await;
    let both: BTreeSet<String> = entry_ids(&b)
        .into_iter()
        .chain(entry_ids(&second))
        .collect();
    assert_eq!(both, set(&[w.hr_hansen_60.clone(), w.hr_hansen_72.clone()]));
    // The performer belongs to the compartment too: a practitioner's observations.
    assert_eq!(
        matches(&s, &format!("Practitioner/{}/Observation", w.alfa), &[]).await,
        obs(&[&w.hr_hansen_60])
    );
    assert_eq!(
        matches(&s, &format!("Practitioner/{}/Patient", w.beta), &[]).await,
        set(&[format!("Patient/{}", w.olsen)])
    );
    assert_eq!(
        matches(&s, &format!("Practitioner/{}/Communication", w.beta), &[]).await,
        set(&[format!("Communication/{}", w.message)])
    );
    assert_eq!(
        matches(&s, &format!("Patient/{}/Patient", w.aas), &[]).await,
        set(&[format!("Patient/{}", w.aas)])
    );
    assert!(matches(&s, &format!("Patient/{}/Observation", w.aas), &[])
        .await
        .is_empty());
    refused(&s, &format!("Patient/{}/Organization", w.aas), &[], 400).await;
    refused(&s, &format!("Patient/{}/Nothing", w.aas), &[], 404).await;
}

async fn system_search_spans_types(s: TestServer) {
    let w = World::load(&s).await;
    let root = s.url("").trim_end_matches('/').to_string();
    let root = root.as_str();
    let all = bundle(
        &s,
        root,
        &[("_type", "Patient,Practitioner"), ("_count", "100")],
    )
    .await;
    let found = ids_with_mode(&all, "match");
    assert_eq!(found.len(), 5, "{all}");
    assert!(found.contains(&format!("Practitioner/{}", w.alfa)));
    assert_eq!(all["total"], 5);
    expect(
        &s,
        root,
        &[("_id", w.hansen.as_str())],
        set(&[format!("Patient/{}", w.hansen)]),
    )
    .await;
    expect(
        &s,
        root,
        &[
            ("_type", "Observation,Communication"),
            ("patient", w.olsen.as_str()),
        ],
        set(&[
            format!("Observation/{}", w.hr_olsen),
            format!("Observation/{}", w.bp_olsen),
            format!("Communication/{}", w.message),
        ]),
    )
    .await;
    // Paging across types keeps every resource once.
    let mut seen = Vec::new();
    let mut page = bundle(&s, root, &[("_count", "4")]).await;
    loop {
        seen.extend(ids_with_mode(&page, "match"));
        let Some(next) = link(&page, "next") else {
            break;
        };
        page = json_with_status(s.get(&next).await, 200).await;
    }
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), unique.len());
    assert_eq!(unique.len(), 3 + 2 + 1 + 5 + 1, "{seen:?}");
    let why = refused(
        &s,
        root,
        &[("_type", "Patient,Observation"), ("name", "x")],
        400,
    )
    .await;
    assert!(why.contains("Patient"), "{why}");
    refused(&s, root, &[("_type", "Nothing")], 404).await;
    refused(&s, root, &[("_include", "Observation:patient")], 400).await;
    // A patient token sees its own compartment only.
    let token = s.token("patient/*.rs", Some(&w.aas)).await;
    let b: Value = s
        .client_with(&token)
        .get(root)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    // Practitioners and organizations are not patient data; of the patients' data, only
    // the token's own patient is found.
    let personal: BTreeSet<String> = ids_with_mode(&b, "match")
        .into_iter()
        .filter(|i| !i.starts_with("Practitioner/") && !i.starts_with("Organization/"))
        .collect();
    assert_eq!(personal, set(&[format!("Patient/{}", w.aas)]), "{b}");
}

async fn history_at_gives_the_versions_current_then(s: TestServer) {
    let created = s.create(&patient("Vik", "1970-01-01", "male", "E-5")).await;
    let id = id_of(&created);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let mut changed = created.clone();
    changed["gender"] = json!("female");
    let updated = json_with_status(s.put_json(&format!("Patient/{id}"), &changed).await, 200).await;
    let instant = |r: &Value| {
        r["meta"]["lastUpdated"]
            .as_str()
            .expect("lastUpdated")
            .to_string()
    };
    let versions_at = |at: String| {
        let s = &s;
        let id = id.clone();
        async move {
            let r = s
                .request(Method::GET, &format!("Patient/{id}/_history"))
                .query(&[("_at", at)])
                .send()
                .await
                .expect("request");
            let b = json_with_status(r, 200).await;
            b["entry"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    e["resource"]["meta"]["versionId"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(versions_at(instant(&created)).await, ["1"]);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    // The server's clock, from a Bundle it makes now.
    let now = instant(&json_with_status(s.get("Patient?_count=0").await, 200).await);
    assert!(now > instant(&updated), "{now}");
    assert_eq!(versions_at(now).await, ["2"]);
    // The whole year: both versions were current in it.
    let year = instant(&created)[..4].to_string();
    assert_eq!(versions_at(year).await, ["2", "1"]);
    assert!(
        versions_at("2001".into()).await.is_empty(),
        "an empty history, not 404"
    );
    // Type-level history with _at.
    let r = s
        .request(Method::GET, "Patient/_history")
        .query(&[("_at", instant(&created))])
        .send()
        .await
        .expect("request");
    let b = json_with_status(r, 200).await;
    assert_eq!(b["entry"].as_array().map(Vec::len), Some(1), "{b}");
    let r = s
        .request(Method::GET, &format!("Patient/{id}/_history"))
        .query(&[("_at", "yesterday")])
        .send()
        .await
        .expect("request");
    json_with_status(r, 400).await;
}

/// An upgrade that adds index rows (here: `:text` displays and `_profile`) leaves resources
/// written before it without them until `helsebro reindex` rebuilds them.
async fn reindex_rebuilds_index_rows_written_before_an_upgrade(s: TestServer) {
    let w = World::load(&s).await;
    let heart_rates = obs(&[&w.hr_hansen_60, &w.hr_hansen_72, &w.hr_olsen]);
    let by_text = [("code:text", "puls")];
    let by_profile = [("_profile", NO_BASIS_PATIENT)];
    let patients = matches(&s, "Patient", &by_profile).await;
    assert_eq!(patients.len(), 3);
    let before_code = matches(&s, "Observation", &[("code", "8867-4")]).await;
    // What an older version wrote: no string rows for tokens, no meta rows.
    for sql in [
        "DELETE FROM search_string WHERE param = 'code'",
        "DELETE FROM search_token WHERE param = '_profile'",
    ] {
        sqlx::query(sql)
            .execute(s.state.store.pool())
            .await
            .expect("delete index rows");
    }
    expect(&s, "Observation", &by_text, set(&[])).await;
    expect(&s, "Patient", &by_profile, set(&[])).await;
    let mut reported = 0;
    let done = helsebro::reindex::reindex(&s.state.store, |n| reported = n)
        .await
        .expect("reindex");
    assert_eq!(done, 3 + 5 + 1 + 2 + 1, "every current resource");
    assert_eq!(reported, done);
    expect(&s, "Observation", &by_text, heart_rates).await;
    expect(&s, "Patient", &by_profile, patients).await;
    expect(&s, "Observation", &[("code", "8867-4")], before_code).await;
    // Rebuilding twice changes nothing: no row is doubled.
    let rows = || async {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM search_string")
            .fetch_one(s.state.store.pool())
            .await
            .expect("count");
        n
    };
    let once = rows().await;
    assert!(once > 0);
    helsebro::reindex::reindex(&s.state.store, |_| {})
        .await
        .expect("reindex again");
    assert_eq!(rows().await, once);
}
