//! Observation: create and read of every measurement kind the platform models
//! (VkpObservation), the rules that refuse a write (422 with the element's path, 400 for core
//! structure), and every search parameter with its prefixes and modifiers.
//!
//! The helpers at the top are shared by the tests of the other clinical resources. Searches
//! run through a [`Cohort`], which limits them with `_id` to the resources the test made, so
//! the expected ids are exact sets even on a shared server.

use std::collections::BTreeSet;

use helsebro_blackbox::reqwest::{Method, RequestBuilder};
use helsebro_blackbox::{json_with_status, on_both_backends, TestServer};
use serde_json::{json, Value};

use crate::errors::outcome_with_status;
use crate::r4_examples::without;
use crate::rest::{create_patient, history_total, id_of, with};

pub(crate) const LOINC: &str = "http://loinc.org";
pub(crate) const SNOMED: &str = "http://snomed.info/sct";
const UCUM: &str = "http://unitsofmeasure.org";
const CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
const NLK: &str = "urn:oid:2.16.578.1.12.4.1.1.7280";
const FNR_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.4.1";
const VKP: &str = "http://hl7.no/fhir/vkpobservation/StructureDefinition/";

// --- helpers shared by the clinical resource tests -------------------------------------

pub(crate) type Ids = BTreeSet<String>;

/// The resource ids in a Bundle's entries, in order.
pub(crate) fn entry_ids(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .map(|entries| entries.iter().map(|e| id_of(&e["resource"])).collect())
        .unwrap_or_default()
}

pub(crate) fn link(bundle: &Value, relation: &str) -> Option<String> {
    bundle["link"].as_array()?.iter().find_map(|l| {
        (l["relation"] == relation).then(|| l["url"].as_str().expect("link url").to_string())
    })
}

/// Asserts a 200 searchset Bundle and returns it.
pub(crate) async fn searchset(req: RequestBuilder) -> Value {
    let bundle = json_with_status(req.send().await.expect("request"), 200).await;
    assert_eq!(bundle["resourceType"], "Bundle", "{bundle}");
    assert_eq!(bundle["type"], "searchset", "{bundle}");
    bundle
}

/// The resources of one type a test made; every search is limited to them with `_id`.
pub(crate) struct Cohort<'a> {
    pub(crate) s: &'a TestServer,
    resource_type: &'static str,
    members: Vec<String>,
}

impl<'a> Cohort<'a> {
    pub(crate) fn new(s: &'a TestServer, resource_type: &'static str) -> Self {
        Cohort {
            s,
            resource_type,
            members: Vec::new(),
        }
    }

    /// Creates `resource` (of the cohort's type) and returns its id.
    pub(crate) async fn add(&mut self, resource: Value) -> String {
        assert_eq!(resource["resourceType"], self.resource_type, "{resource}");
        let id = id_of(&self.s.create(&resource).await);
        self.members.push(id.clone());
        id
    }

    fn scoped(&self, params: &[(&str, &str)]) -> Vec<(String, String)> {
        params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain([("_id".to_string(), self.members.join(","))])
            .collect()
    }

    /// `GET {type}?…` within the cohort.
    pub(crate) async fn get(&self, params: &[(&str, &str)]) -> Value {
        let req = self.s.request(Method::GET, self.resource_type);
        searchset(req.query(&self.scoped(params))).await
    }

    /// `POST {type}/_search` with the parameters as a form body, within the cohort.
    pub(crate) async fn post(&self, params: &[(&str, &str)]) -> Value {
        let path = format!("{}/_search", self.resource_type);
        searchset(
            self.s
                .request(Method::POST, &path)
                .form(&self.scoped(params)),
        )
        .await
    }

    /// The ids a search finds (all on one page, `total` counting them).
    pub(crate) async fn find(&self, params: &[(&str, &str)]) -> Ids {
        let bundle = self.get(params).await;
        assert!(link(&bundle, "next").is_none(), "expected one page");
        let found: Ids = entry_ids(&bundle).into_iter().collect();
        assert_eq!(bundle["total"], json!(found.len()), "total: {bundle}");
        found
    }

    /// Asserts that searching with `params` finds exactly `expected`.
    pub(crate) async fn expect(&self, params: &[(&str, &str)], expected: &[&String]) {
        let expected: Ids = expected.iter().map(|id| id.to_string()).collect();
        assert_eq!(self.find(params).await, expected, "search {params:?}");
    }

    /// Asserts that a search is refused with 400 and an OperationOutcome.
    pub(crate) async fn rejected(&self, params: &[(&str, &str)]) {
        let req = self.s.request(Method::GET, self.resource_type);
        let r = req
            .query(&self.scoped(params))
            .send()
            .await
            .expect("request");
        outcome_with_status(r, 400).await;
    }
}

/// The `expression`s of every issue of an OperationOutcome, in order.
pub(crate) fn expressions(outcome: &Value) -> Vec<String> {
    outcome["issue"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|i| i["expression"].as_array().cloned().unwrap_or_default())
        .map(|e| e.as_str().expect("expression is text").to_string())
        .collect()
}

/// The diagnostics of every issue, joined.
pub(crate) fn diagnostics(outcome: &Value) -> String {
    outcome["issue"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["diagnostics"].as_str())
        .collect::<Vec<_>>()
        .join(" | ")
}

fn resource_type(resource: &Value) -> &str {
    resource["resourceType"].as_str().expect("resourceType")
}

/// Sends `resource` with `method` to `path`; the write must be refused with `status` and
/// write no version of the resource's type. Returns the OperationOutcome.
pub(crate) async fn refused_at(
    s: &TestServer,
    method: Method,
    path: &str,
    resource: &Value,
    status: u16,
) -> Value {
    let history = format!("{}/_history", resource_type(resource));
    let before = history_total(s, &history).await;
    let r = s
        .request(method, path)
        .header("Content-Type", "application/fhir+json")
        .body(resource.to_string())
        .send()
        .await
        .expect("request");
    let outcome = outcome_with_status(r, status).await;
    let after = history_total(s, &history).await;
    assert_eq!(
        after, before,
        "the refused write wrote a version: {outcome}"
    );
    outcome
}

/// `POST`s `resource`, which must be refused with `status`; see [`refused_at`].
pub(crate) async fn refused(s: &TestServer, resource: &Value, status: u16) -> Value {
    refused_at(s, Method::POST, resource_type(resource), resource, status).await
}

/// The create is refused with 422, with business-rule issues at exactly `expected`.
pub(crate) async fn unprocessable(s: &TestServer, resource: &Value, expected: &[&str]) -> Value {
    let outcome = refused(s, resource, 422).await;
    assert_eq!(expressions(&outcome), expected, "{outcome}");
    for issue in outcome["issue"].as_array().expect("issues") {
        assert_eq!(issue["code"], "business-rule", "{outcome}");
    }
    outcome
}

/// The create is refused with 400: the core R4 element `element` is missing. As in the FHIR
/// validator, the issue is located at the element that lacks it.
pub(crate) async fn missing_required(s: &TestServer, resource: &Value, element: &str) {
    let outcome = refused(s, resource, 400).await;
    assert_eq!(
        outcome["issue"].as_array().map(Vec::len),
        Some(1),
        "{outcome}"
    );
    assert_eq!(outcome["issue"][0]["code"], "required", "{outcome}");
    assert_eq!(
        expressions(&outcome),
        [resource_type(resource)],
        "{outcome}"
    );
    assert!(
        diagnostics(&outcome).contains(&format!("'{element}'")),
        "the issue names {element}: {outcome}"
    );
}

/// The create is refused with 400: the value at `expression` is not valid R4.
pub(crate) async fn malformed(s: &TestServer, resource: &Value, expression: &str) {
    let outcome = refused(s, resource, 400).await;
    assert_eq!(expressions(&outcome), [expression], "{outcome}");
}

/// Creates `resource`, checks that the server answers with it and reads it back as written
/// (apart from `id` and `meta`, whose profiles it keeps), and returns its id.
pub(crate) async fn round_trip(s: &TestServer, resource: &Value) -> String {
    let created = s.create(resource).await;
    let id = id_of(&created);
    let written = without(resource, &["id", "meta"]);
    assert_eq!(
        without(&created, &["id", "meta"]),
        written,
        "create response"
    );
    assert_eq!(created["meta"]["versionId"], "1", "{created}");
    if let Some(profile) = resource["meta"].get("profile") {
        assert_eq!(&created["meta"]["profile"], profile, "{created}");
    }
    let path = format!("{}/{id}", resource_type(resource));
    let read = json_with_status(s.get(&path).await, 200).await;
    assert_eq!(read, created, "read {path}");
    id
}

/// A Practitioner with a name only; returns its id.
pub(crate) async fn create_practitioner(s: &TestServer) -> String {
    let practitioner = json!({
        "resourceType": "Practitioner",
        "name": [{"use": "official", "family": "Lege", "given": ["Lise"]}]
    });
    id_of(&s.create(&practitioner).await)
}

/// `Patient/{id}`.
pub(crate) fn patient_ref(id: &str) -> String {
    format!("Patient/{id}")
}

// --- Observation builders ----------------------------------------------------------------

fn coding(system: &str, code: &str, display: &str) -> Value {
    json!({"system": system, "code": code, "display": display})
}

fn category(code: &str) -> Value {
    json!([{"coding": [{"system": CATEGORY, "code": code}]}])
}

/// A number as people and devices write it: whole numbers without `.0`.
fn number(v: f64) -> Value {
    if v.fract() == 0.0 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

fn quantity(value: f64, code: &str, unit: &str) -> Value {
    json!({"value": number(value), "unit": unit, "system": UCUM, "code": code})
}

/// A final Observation of `patient` with the codings `codes`, in `category`, without a value.
fn observation(patient: &str, codes: Value, category_code: &str) -> Value {
    json!({
        "resourceType": "Observation",
        "status": "final",
        "category": category(category_code),
        "code": {"coding": codes},
        "subject": {"reference": patient_ref(patient)},
        "effectiveDateTime": "2024-03-01T08:15:00+01:00"
    })
}

fn measurement(patient: &str, codes: Value, value: f64, code: &str, unit: &str) -> Value {
    let o = observation(patient, codes, "vital-signs");
    with(o, "valueQuantity", quantity(value, code, unit))
}

fn profiled(resource: Value, profile: &str) -> Value {
    with(
        resource,
        "meta",
        json!({"profile": [format!("{VKP}{profile}")]}),
    )
}

pub(crate) fn heart_rate(patient: &str, bpm: f64) -> Value {
    let codes = json!([
        coding(LOINC, "8867-4", "Heart rate"),
        coding(SNOMED, "364075005", "Heart rate (observable entity)")
    ]);
    measurement(patient, codes, bpm, "/min", "/min")
}

fn oxygen_saturation(patient: &str, percent: f64) -> Value {
    let codes = json!([
        coding(
            LOINC,
            "59408-5",
            "Oxygen saturation in Arterial blood by Pulse oximetry"
        ),
        coding(LOINC, "2708-6", "Oxygen saturation in Arterial blood")
    ]);
    measurement(patient, codes, percent, "%", "%")
}

fn body_temperature(patient: &str, celsius: f64) -> Value {
    let codes = json!([coding(LOINC, "8310-5", "Body temperature")]);
    measurement(patient, codes, celsius, "Cel", "°C")
}

fn body_weight(patient: &str, kg: f64) -> Value {
    let codes = json!([coding(LOINC, "29463-7", "Body weight")]);
    measurement(patient, codes, kg, "kg", "kg")
}

fn respiratory_rate(patient: &str, per_minute: f64) -> Value {
    let codes = json!([coding(LOINC, "9279-1", "Respiratory rate")]);
    measurement(patient, codes, per_minute, "/min", "/min")
}

fn blood_glucose(patient: &str, mmol: f64) -> Value {
    let codes = json!([
        coding(LOINC, "15074-8", "Glucose [Moles/volume] in Blood"),
        coding(NLK, "NPU02187", "B—Glukose")
    ]);
    let o = measurement(patient, codes, mmol, "mmol/L", "mmol/L");
    with(o, "category", category("laboratory"))
}

/// A Clinical Frailty Scale score: a questionnaire score, recognised by category `survey`.
fn frailty_score(patient: &str, score: f64) -> Value {
    let codes = json!([coding(
        SNOMED,
        "763264000",
        "CSHA Clinical Frailty Scale score"
    )]);
    let mut o = observation(patient, codes, "survey");
    o["code"]["text"] = json!("Clinical Frailty Scale");
    with(o, "valueQuantity", quantity(score, "{score}", "{score}"))
}

fn pressure(loinc: &str, display: &str, mm_hg: f64) -> Value {
    json!({
        "code": {"coding": [coding(LOINC, loinc, display)]},
        "valueQuantity": quantity(mm_hg, "mm[Hg]", "mmHg")
    })
}

fn blood_pressure(patient: &str, systolic: f64, diastolic: f64) -> Value {
    let codes = json!([
        coding(
            LOINC,
            "85354-9",
            "Blood pressure panel with all children optional"
        ),
        coding(SNOMED, "75367002", "Blood pressure (observable entity)")
    ]);
    let components = json!([
        pressure("8480-6", "Systolic blood pressure", systolic),
        pressure("8462-4", "Diastolic blood pressure", diastolic)
    ]);
    with(
        observation(patient, codes, "vital-signs"),
        "component",
        components,
    )
}

/// An Observation with only `code.coding` = `codes`: a kind the platform does not model.
fn coded_only(patient: &str, codes: Value) -> Value {
    json!({
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": codes},
        "subject": {"reference": patient_ref(patient)}
    })
}

// --- create and read, one measurement kind each ------------------------------------------

async fn blood_pressure_panel_round_trips(s: TestServer) {
    let p = create_patient(&s).await;
    let mut bp = profiled(
        blood_pressure(&p, 132.0, 84.0),
        "vkp-Observation-Bloodpressure",
    );
    bp["bodySite"] = json!({"coding": [coding(SNOMED, "368209003", "Right arm")]});
    bp["performer"] = json!([{"reference": patient_ref(&p)}]);
    bp["device"] = json!({"reference": "Device/omron-m7", "display": "Omron M7"});
    round_trip(&s, &bp).await;
}

async fn heart_rate_round_trips(s: TestServer) {
    let p = create_patient(&s).await;
    let mut hr = profiled(heart_rate(&p, 64.0), "vkp-Observation-Heartrate");
    hr["note"] = json!([{"text": "Målt i hvile"}]);
    hr["interpretation"] = json!([{"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
        "code": "N",
        "display": "Normal"
    }]}]);
    round_trip(&s, &hr).await;
}

async fn oxygen_saturation_round_trips(s: TestServer) {
    let p = create_patient(&s).await;
    let spo2 = profiled(oxygen_saturation(&p, 97.0), "vkp-Observation-Oxygensat");
    round_trip(
        &s,
        &with(spo2, "device", json!({"reference": "Device/nonin-3230"})),
    )
    .await;
}

async fn body_temperature_round_trips(s: TestServer) {
    let p = create_patient(&s).await;
    let temperature = profiled(body_temperature(&p, 37.2), "vkp-Observation-Bodytemp");
    round_trip(&s, &temperature).await;
}

async fn body_weight_round_trips(s: TestServer) {
    let p = create_patient(&s).await;
    round_trip(
        &s,
        &profiled(body_weight(&p, 72.5), "vkp-Observation-Bodyweight"),
    )
    .await;
}

async fn respiratory_rate_round_trips(s: TestServer) {
    let p = create_patient(&s).await;
    let rate = profiled(respiratory_rate(&p, 16.0), "vkp-Observation-Resprate");
    round_trip(&s, &rate).await;
}

async fn blood_glucose_round_trips(s: TestServer) {
    let p = create_patient(&s).await;
    round_trip(&s, &profiled(blood_glucose(&p, 6.3), "vkp-Observation")).await;
}

async fn questionnaire_score_round_trips(s: TestServer) {
    let p = create_patient(&s).await;
    round_trip(
        &s,
        &profiled(frailty_score(&p, 4.0), "vkp-Observation-CFSscore"),
    )
    .await;
}

/// no-domain VitalSigns codes the pressures with HL7 Norway's SNOMED CT extension codes.
async fn blood_pressure_with_norwegian_snomed_components_round_trips(s: TestServer) {
    let p = create_patient(&s).await;
    let mut bp = blood_pressure(&p, 128.0, 82.0);
    for (i, code) in ["4471000202106", "4481000202108"].into_iter().enumerate() {
        bp["component"][i]["code"] = json!({"coding": [{"system": SNOMED, "code": code}]});
    }
    round_trip(&s, &bp).await;
}

async fn unknown_code_is_stored_as_written(s: TestServer) {
    let p = create_patient(&s).await;
    let mut o = coded_only(&p, json!([coding(LOINC, "8302-2", "Body height")]));
    o["valueQuantity"] = quantity(178.0, "cm", "cm");
    round_trip(&s, &o).await;
}

// --- refused writes ------------------------------------------------------------------------

async fn heart_rate_in_kg_is_422_at_the_unit_code(s: TestServer) {
    let p = create_patient(&s).await;
    let o = with(
        heart_rate(&p, 64.0),
        "valueQuantity",
        quantity(64.0, "kg", "kg"),
    );
    let outcome = unprocessable(&s, &o, &["Observation.valueQuantity.code"]).await;
    assert!(diagnostics(&outcome).contains("/min"), "{outcome}");
}

/// The other codes the code table recognises for a kind bring the kind's units with them.
async fn every_code_of_a_kind_fixes_its_unit(s: TestServer) {
    let p = create_patient(&s).await;
    for (system, code, wrong_unit) in [
        (SNOMED, "78564009", "kg"),
        (SNOMED, "271625008", "kg"),
        (LOINC, "2708-6", "kg"),
        (LOINC, "3141-9", "/min"),
        (NLK, "NPU02187", "kg"),
        (SNOMED, "276885007", "kg"),
    ] {
        let mut o = coded_only(&p, json!([{"system": system, "code": code}]));
        o["valueQuantity"] = quantity(1.0, wrong_unit, wrong_unit);
        unprocessable(&s, &o, &["Observation.valueQuantity.code"]).await;
    }
}

async fn unit_outside_ucum_is_422_at_the_unit_system(s: TestServer) {
    let p = create_patient(&s).await;
    let mut o = heart_rate(&p, 64.0);
    o["valueQuantity"]["system"] = json!("http://example.org/units");
    unprocessable(&s, &o, &["Observation.valueQuantity.system"]).await;
}

async fn blood_pressure_without_diastolic_is_422_at_component(s: TestServer) {
    let p = create_patient(&s).await;
    let mut bp = blood_pressure(&p, 132.0, 84.0);
    bp["component"].as_array_mut().expect("components").pop();
    let outcome = unprocessable(&s, &bp, &["Observation.component"]).await;
    assert!(diagnostics(&outcome).contains("8462-4"), "{outcome}");
}

async fn blood_pressure_component_in_kpa_is_422_at_that_component(s: TestServer) {
    let p = create_patient(&s).await;
    let mut bp = blood_pressure(&p, 132.0, 84.0);
    bp["component"][1]["valueQuantity"] = quantity(11.2, "kPa", "kPa");
    unprocessable(&s, &bp, &["Observation.component[1].valueQuantity.code"]).await;
}

async fn quantity_kind_as_string_is_422_at_value_string(s: TestServer) {
    let p = create_patient(&s).await;
    let o = without(&heart_rate(&p, 64.0), &["valueQuantity"]);
    let o = with(o, "valueString", json!("64"));
    unprocessable(&s, &o, &["Observation.valueString"]).await;
}

async fn vital_sign_filed_as_survey_is_422_at_category(s: TestServer) {
    let p = create_patient(&s).await;
    let o = with(heart_rate(&p, 64.0), "category", category("survey"));
    unprocessable(&s, &o, &["Observation.category"]).await;
}

async fn unknown_status_is_422_at_status(s: TestServer) {
    let p = create_patient(&s).await;
    let o = with(heart_rate(&p, 64.0), "status", json!("done"));
    unprocessable(&s, &o, &["Observation.status"]).await;
}

async fn invalid_national_id_on_subject_is_422(s: TestServer) {
    let p = create_patient(&s).await;
    let mut o = heart_rate(&p, 64.0);
    o["subject"]["identifier"] = json!({"system": FNR_SYSTEM, "value": "13116900217"});
    let outcome = unprocessable(&s, &o, &["Observation.subject.identifier.value"]).await;
    assert!(diagnostics(&outcome).contains("fødselsnummer"), "{outcome}");
}

async fn missing_status_is_400(s: TestServer) {
    let p = create_patient(&s).await;
    let o = without(&heart_rate(&p, 64.0), &["status"]);
    missing_required(&s, &o, "status").await;
}

async fn number_as_json_string_is_400_at_the_value(s: TestServer) {
    let p = create_patient(&s).await;
    let mut o = heart_rate(&p, 64.0);
    o["valueQuantity"]["value"] = json!("64");
    malformed(&s, &o, "Observation.valueQuantity.value").await;
}

async fn missing_code_is_400(s: TestServer) {
    let p = create_patient(&s).await;
    let o = without(&heart_rate(&p, 64.0), &["code"]);
    missing_required(&s, &o, "code").await;
}

// --- patient and subject ---------------------------------------------------------------------

struct SubjectCohort<'a> {
    c: Cohort<'a>,
    p1: String,
    p2: String,
    p1_heart_rate: String,
    p1_weight: String,
    p2_heart_rate: String,
    /// subject `Group/{p1}`: the same id, another type
    group: String,
    /// no subject
    nobody: String,
}

async fn subject_cohort(s: &TestServer) -> SubjectCohort<'_> {
    let mut c = Cohort::new(s, "Observation");
    let (p1, p2) = (create_patient(s).await, create_patient(s).await);
    let group = json!({"reference": format!("Group/{p1}")});
    let nobody = without(&heart_rate(&p1, 70.0), &["subject"]);
    SubjectCohort {
        p1_heart_rate: c.add(heart_rate(&p1, 64.0)).await,
        p1_weight: c.add(body_weight(&p1, 72.5)).await,
        p2_heart_rate: c.add(heart_rate(&p2, 80.0)).await,
        group: c.add(with(heart_rate(&p1, 90.0), "subject", group)).await,
        nobody: c.add(nobody).await,
        p1,
        p2,
        c,
    }
}

async fn patient_takes_an_id_a_reference_or_this_servers_url(s: TestServer) {
    let t = subject_cohort(&s).await;
    let mine = [&t.p1_heart_rate, &t.p1_weight];
    let absolute = format!("{}/Patient/{}", s.base, t.p1);
    for value in [t.p1.clone(), patient_ref(&t.p1), absolute] {
        t.c.expect(&[("patient", &value)], &mine).await;
    }
    t.c.expect(&[("patient", &t.p2)], &[&t.p2_heart_rate]).await;
    let both = format!("{},{}", t.p1, t.p2);
    let all = [&t.p1_heart_rate, &t.p1_weight, &t.p2_heart_rate];
    t.c.expect(&[("patient", &both)], &all).await;
    t.c.expect(&[("patient", "no-such-patient")], &[]).await;
    let elsewhere = format!("http://other.example.org/fhir/Patient/{}", t.p1);
    t.c.expect(&[("patient", &elsewhere)], &[]).await;
}

async fn subject_matches_any_type_unless_one_is_named(s: TestServer) {
    let t = subject_cohort(&s).await;
    let mine = [&t.p1_heart_rate, &t.p1_weight];
    t.c.expect(&[("subject", &patient_ref(&t.p1))], &mine).await;
    let group = format!("Group/{}", t.p1);
    t.c.expect(&[("subject", &group)], &[&t.group]).await;
    t.c.expect(
        &[("subject", &t.p1)],
        &[&t.p1_heart_rate, &t.p1_weight, &t.group],
    )
    .await;
}

async fn subject_missing_finds_observations_without_one(s: TestServer) {
    let t = subject_cohort(&s).await;
    t.c.expect(&[("subject:missing", "true")], &[&t.nobody])
        .await;
    t.c.expect(
        &[("subject:missing", "false")],
        &[&t.p1_heart_rate, &t.p1_weight, &t.p2_heart_rate, &t.group],
    )
    .await;
}

/// `patient` is `subject.where(resolve() is Patient)`: a Group subject is no patient.
async fn patient_missing_counts_a_group_subject_as_missing(s: TestServer) {
    let t = subject_cohort(&s).await;
    t.c.expect(&[("patient:missing", "true")], &[&t.nobody, &t.group])
        .await;
}

// --- code, component-code, combo-code --------------------------------------------------------

struct CodeCohort<'a> {
    c: Cohort<'a>,
    /// LOINC 8867-4 and SNOMED CT 364075005
    heart_rate: String,
    /// LOINC 59408-5 and 2708-6
    saturation: String,
    /// LOINC 85354-9 with components 8480-6 and 8462-4
    pressure: String,
    /// code 8867-4 without a system
    no_system: String,
    /// code 8867-4 in another system
    other_system: String,
}

async fn code_cohort(s: &TestServer) -> CodeCohort<'_> {
    let mut c = Cohort::new(s, "Observation");
    let p = create_patient(s).await;
    CodeCohort {
        heart_rate: c.add(heart_rate(&p, 64.0)).await,
        saturation: c.add(oxygen_saturation(&p, 97.0)).await,
        pressure: c.add(blood_pressure(&p, 132.0, 84.0)).await,
        no_system: c.add(coded_only(&p, json!([{"code": "8867-4"}]))).await,
        other_system: c
            .add(coded_only(
                &p,
                json!([{"system": "urn:example:codes", "code": "8867-4"}]),
            ))
            .await,
        c,
    }
}

async fn code_with_system_and_code(s: TestServer) {
    let t = code_cohort(&s).await;
    t.c.expect(&[("code", "http://loinc.org|8867-4")], &[&t.heart_rate])
        .await;
    t.c.expect(
        &[("code", "http://snomed.info/sct|364075005")],
        &[&t.heart_rate],
    )
    .await;
    t.c.expect(&[("code", "http://loinc.org|2708-6")], &[&t.saturation])
        .await;
    t.c.expect(&[("code", "http://snomed.info/sct|8867-4")], &[])
        .await;
}

async fn code_alone_matches_any_system(s: TestServer) {
    let t = code_cohort(&s).await;
    t.c.expect(
        &[("code", "8867-4")],
        &[&t.heart_rate, &t.no_system, &t.other_system],
    )
    .await;
}

async fn code_after_a_bar_has_no_system(s: TestServer) {
    let t = code_cohort(&s).await;
    t.c.expect(&[("code", "|8867-4")], &[&t.no_system]).await;
}

async fn code_system_alone_matches_any_code(s: TestServer) {
    let t = code_cohort(&s).await;
    t.c.expect(
        &[("code", "http://loinc.org|")],
        &[&t.heart_rate, &t.saturation, &t.pressure],
    )
    .await;
}

async fn code_alternatives_and_not(s: TestServer) {
    let t = code_cohort(&s).await;
    t.c.expect(
        &[("code", "59408-5,85354-9")],
        &[&t.saturation, &t.pressure],
    )
    .await;
    t.c.expect(
        &[("code:not", "http://loinc.org|8867-4")],
        &[&t.saturation, &t.pressure, &t.no_system, &t.other_system],
    )
    .await;
}

async fn component_code_finds_panels_by_their_parts(s: TestServer) {
    let t = code_cohort(&s).await;
    for systolic in ["http://loinc.org|8480-6", "8480-6"] {
        t.c.expect(&[("component-code", systolic)], &[&t.pressure])
            .await;
    }
    t.c.expect(&[("component-code", "8462-4")], &[&t.pressure])
        .await;
    t.c.expect(&[("component-code", "85354-9")], &[]).await;
    t.c.expect(&[("component-code", "8867-4")], &[]).await;
}

async fn combo_code_matches_the_code_or_a_component(s: TestServer) {
    let t = code_cohort(&s).await;
    t.c.expect(&[("combo-code", "http://loinc.org|8480-6")], &[&t.pressure])
        .await;
    t.c.expect(
        &[("combo-code", "http://loinc.org|85354-9")],
        &[&t.pressure],
    )
    .await;
    t.c.expect(
        &[("combo-code", "8867-4")],
        &[&t.heart_rate, &t.no_system, &t.other_system],
    )
    .await;
}

// --- category and status -----------------------------------------------------------------------

struct CategoryCohort<'a> {
    c: Cohort<'a>,
    vital: String,
    survey: String,
    laboratory: String,
    uncategorised: String,
}

async fn category_cohort(s: &TestServer) -> CategoryCohort<'_> {
    let mut c = Cohort::new(s, "Observation");
    let p = create_patient(s).await;
    CategoryCohort {
        vital: c.add(heart_rate(&p, 64.0)).await,
        survey: c.add(frailty_score(&p, 4.0)).await,
        laboratory: c.add(blood_glucose(&p, 6.3)).await,
        uncategorised: c.add(coded_only(&p, json!([{"code": "x"}]))).await,
        c,
    }
}

async fn category_by_code_and_system(s: TestServer) {
    let t = category_cohort(&s).await;
    t.c.expect(&[("category", "vital-signs")], &[&t.vital])
        .await;
    let survey = format!("{CATEGORY}|survey");
    t.c.expect(&[("category", &survey)], &[&t.survey]).await;
    t.c.expect(
        &[("category", "laboratory,survey")],
        &[&t.laboratory, &t.survey],
    )
    .await;
    t.c.expect(&[("category", "urn:example:other|survey")], &[])
        .await;
}

async fn category_missing_and_not(s: TestServer) {
    let t = category_cohort(&s).await;
    t.c.expect(&[("category:missing", "true")], &[&t.uncategorised])
        .await;
    t.c.expect(
        &[("category:missing", "false")],
        &[&t.vital, &t.survey, &t.laboratory],
    )
    .await;
    t.c.expect(
        &[("category:not", "vital-signs")],
        &[&t.survey, &t.laboratory, &t.uncategorised],
    )
    .await;
}

async fn status_equals_alternatives_and_not(s: TestServer) {
    let mut c = Cohort::new(&s, "Observation");
    let p = create_patient(&s).await;
    let mut by_status = Vec::new();
    for status in ["final", "amended", "preliminary", "entered-in-error"] {
        let o = with(heart_rate(&p, 64.0), "status", json!(status));
        by_status.push(c.add(o).await);
    }
    let [fin, amended, preliminary, error] = [0, 1, 2, 3].map(|i| &by_status[i]);
    c.expect(&[("status", "final")], &[fin]).await;
    c.expect(
        &[("status", "amended,preliminary")],
        &[amended, preliminary],
    )
    .await;
    c.expect(&[("status:not", "final")], &[amended, preliminary, error])
        .await;
    c.expect(
        &[("status:not", "final,entered-in-error")],
        &[amended, preliminary],
    )
    .await;
}

// --- date --------------------------------------------------------------------------------------

struct DateCohort<'a> {
    c: Cohort<'a>,
    /// effectiveDateTime 2024-03-01T08:15:00+01:00 (07:15:00Z)
    morning: String,
    /// effectiveDateTime 2024-03-02 (the whole day)
    next_day: String,
    /// effectivePeriod 2024-02-28T10:00:00Z to 2024-03-01T12:00:00Z
    spanning: String,
    /// effectivePeriod from 2024-03-05, open end
    ongoing: String,
    /// no effective[x]
    undated: String,
    patient: String,
}

async fn date_cohort(s: &TestServer) -> DateCohort<'_> {
    let mut c = Cohort::new(s, "Observation");
    let p = create_patient(s).await;
    let at = |effective: &str, value: Value| {
        let mut o = without(&heart_rate(&p, 64.0), &["effectiveDateTime"]);
        if !effective.is_empty() {
            o[effective] = value;
        }
        o
    };
    DateCohort {
        morning: c
            .add(at("effectiveDateTime", json!("2024-03-01T08:15:00+01:00")))
            .await,
        next_day: c.add(at("effectiveDateTime", json!("2024-03-02"))).await,
        spanning: c
            .add(at(
                "effectivePeriod",
                json!({"start": "2024-02-28T10:00:00Z", "end": "2024-03-01T12:00:00Z"}),
            ))
            .await,
        ongoing: c
            .add(at("effectivePeriod", json!({"start": "2024-03-05"})))
            .await,
        undated: c.add(at("", Value::Null)).await,
        patient: p.clone(),
        c,
    }
}

impl DateCohort<'_> {
    /// Also by patient and code, which Observation searches answer from their own
    /// (patient, code, date) index: each date prefix must mean the same there.
    async fn expect(&self, value: &str, expected: &[&String]) {
        self.c.expect(&[("date", value)], expected).await;
        let patient = patient_ref(&self.patient);
        let by_series = [
            ("patient", patient.as_str()),
            ("code", "http://loinc.org|8867-4"),
            ("date", value),
        ];
        self.c.expect(&by_series, expected).await;
    }
}

type Params<'a> = &'a [(&'a str, &'a str)];

/// The (patient, code, date) index follows every change: other patients, other codes and
/// coding systems, each way of naming the patient, updates that move an observation, and
/// deletions.
async fn patient_code_and_date_together(s: TestServer) {
    let mut c = Cohort::new(&s, "Observation");
    let (p1, p2) = (create_patient(&s).await, create_patient(&s).await);
    let at = |o: Value, when: &str| with(o, "effectiveDateTime", json!(when));
    let early = c
        .add(at(heart_rate(&p1, 60.0), "2024-03-01T08:15:00Z"))
        .await;
    let later = c
        .add(at(heart_rate(&p1, 61.0), "2024-03-10T08:15:00Z"))
        .await;
    let weight = c
        .add(at(body_weight(&p1, 80.0), "2024-03-01T08:15:00Z"))
        .await;
    let other = c
        .add(at(heart_rate(&p2, 62.0), "2024-03-01T08:15:00Z"))
        .await;
    let absolute = format!("{}/Patient/{p1}", s.base);
    let p1_ref = patient_ref(&p1);
    let cases: [(Params, Vec<&String>); 7] = [
        (
            &[
                ("patient", &p1),
                ("code", "8867-4"),
                ("date", "ge2024-03-01"),
                ("date", "lt2024-03-05"),
            ],
            vec![&early],
        ),
        (
            &[
                ("patient", &p1_ref),
                ("code", "http://loinc.org|8867-4"),
                ("date", "ge2024-03-01"),
            ],
            vec![&early, &later],
        ),
        (
            &[
                ("patient", &absolute),
                ("code", "http://snomed.info/sct|364075005"),
                ("date", "lt2024-03-05"),
            ],
            vec![&early],
        ),
        (
            &[("patient", &p1), ("code", "|8867-4"), ("date", "ge2024")],
            vec![],
        ),
        (
            &[("patient", &p2), ("code", "8867-4"), ("date", "2024-03-01")],
            vec![&other],
        ),
        (
            &[("patient", &p1), ("code", "29463-7"), ("date", "2024-03")],
            vec![&weight],
        ),
        (
            &[("patient", &p1), ("code:not", "8867-4"), ("date", "ge2024")],
            vec![&weight],
        ),
    ];
    for (params, expected) in &cases {
        c.expect(params, expected).await;
    }
    // Moved out of the range, then deleted: the index follows.
    let mut moved = json_with_status(s.get(&format!("Observation/{early}")).await, 200).await;
    moved["effectiveDateTime"] = json!("2024-04-01T08:00:00Z");
    let r = s.put_json(&format!("Observation/{early}"), &moved).await;
    assert_eq!(r.status(), 200);
    let march = [
        ("patient", p1.as_str()),
        ("code", "8867-4"),
        ("date", "2024-03"),
    ];
    c.expect(&march, &[&later]).await;
    assert_eq!(
        s.delete(&format!("Observation/{later}")).await.status(),
        204
    );
    c.expect(&march, &[]).await;
}

async fn date_eq_at_each_precision(s: TestServer) {
    let t = date_cohort(&s).await;
    t.expect("2024", &[&t.morning, &t.next_day, &t.spanning])
        .await;
    t.expect("2024-03", &[&t.morning, &t.next_day]).await;
    t.expect("eq2024-03-01", &[&t.morning]).await;
    t.expect("2024-03-01T07:15:00Z", &[&t.morning]).await;
    t.expect("2024-03-01T08:15:00+01:00", &[&t.morning]).await;
    t.expect("2024-03-01T07:15:01Z", &[]).await;
    t.expect("2024-02-29", &[]).await;
}

async fn date_gt_lt_ge_le_compare_whole_periods(s: TestServer) {
    let t = date_cohort(&s).await;
    t.expect("gt2024-03-01", &[&t.next_day, &t.ongoing]).await;
    t.expect("ge2024-03-02", &[&t.next_day, &t.ongoing]).await;
    t.expect("lt2024-03-01", &[&t.spanning]).await;
    t.expect("le2024-03-01", &[&t.morning, &t.spanning]).await;
    t.expect(
        "gt2024-03-01T11:00:00Z",
        &[&t.next_day, &t.spanning, &t.ongoing],
    )
    .await;
}

async fn date_ne_sa_and_eb(s: TestServer) {
    let t = date_cohort(&s).await;
    t.expect("ne2024-03-01", &[&t.next_day, &t.spanning, &t.ongoing])
        .await;
    t.expect("sa2024-03-01", &[&t.next_day, &t.ongoing]).await;
    t.expect("eb2024-03-02", &[&t.morning, &t.spanning]).await;
    t.expect("eb2024-02-28", &[]).await;
}

async fn date_ap_is_near_but_not_far(s: TestServer) {
    let t = date_cohort(&s).await;
    t.expect(
        "ap2024-03-01",
        &[&t.morning, &t.next_day, &t.spanning, &t.ongoing],
    )
    .await;
    t.expect("ap2010-01-01", &[]).await;
}

async fn date_missing_finds_undated_observations(s: TestServer) {
    let t = date_cohort(&s).await;
    t.c.expect(&[("date:missing", "true")], &[&t.undated]).await;
}

async fn invalid_date_is_400(s: TestServer) {
    let t = date_cohort(&s).await;
    for bad in ["2024-13-01", "gt01.03.2024", "2024-03-01T25:00:00Z"] {
        t.c.rejected(&[("date", bad)]).await;
    }
}

// --- value-quantity ------------------------------------------------------------------------------

struct ValueCohort<'a> {
    c: Cohort<'a>,
    /// 72.5 kg
    w725: String,
    /// 72.04 kg
    w7204: String,
    /// 80 kg
    w80: String,
    /// 64 /min
    pulse: String,
    /// 37.25 Cel, unit °C
    temperature: String,
    /// a panel: no value of its own
    pressure: String,
}

async fn value_cohort(s: &TestServer) -> ValueCohort<'_> {
    let mut c = Cohort::new(s, "Observation");
    let p = create_patient(s).await;
    ValueCohort {
        w725: c.add(body_weight(&p, 72.5)).await,
        w7204: c.add(body_weight(&p, 72.04)).await,
        w80: c.add(body_weight(&p, 80.0)).await,
        pulse: c.add(heart_rate(&p, 64.0)).await,
        temperature: c.add(body_temperature(&p, 37.25)).await,
        pressure: c.add(blood_pressure(&p, 150.0, 95.0)).await,
        c,
    }
}

impl ValueCohort<'_> {
    async fn expect(&self, value: &str, expected: &[&String]) {
        self.c.expect(&[("value-quantity", value)], expected).await;
    }
}

async fn value_quantity_eq_honours_precision(s: TestServer) {
    let t = value_cohort(&s).await;
    // 72 is [71.5, 72.5): 72.5 itself is outside.
    t.expect("72", &[&t.w7204]).await;
    t.expect("72.0", &[&t.w7204]).await;
    t.expect("72.5", &[&t.w725]).await;
    t.expect("eq72.50", &[&t.w725]).await;
    t.expect("72.04", &[&t.w7204]).await;
    t.expect("72.1", &[]).await;
    t.expect("64", &[&t.pulse]).await;
}

async fn value_quantity_gt_lt_ge_le(s: TestServer) {
    let t = value_cohort(&s).await;
    t.expect("gt72.04", &[&t.w725, &t.w80]).await;
    t.expect("ge72.04", &[&t.w7204, &t.w725, &t.w80]).await;
    t.expect("lt64", &[&t.temperature]).await;
    t.expect("le64", &[&t.pulse, &t.temperature]).await;
    t.expect("gt80", &[]).await;
}

async fn value_quantity_ap_is_within_ten_percent(s: TestServer) {
    let t = value_cohort(&s).await;
    // 72 ± 7.2: [64.8, 79.2]
    t.expect("ap72", &[&t.w725, &t.w7204]).await;
    t.expect("ap40", &[&t.temperature]).await;
}

async fn value_quantity_ne(s: TestServer) {
    let t = value_cohort(&s).await;
    t.expect("ne72.5|http://unitsofmeasure.org|kg", &[&t.w7204, &t.w80])
        .await;
}

async fn value_quantity_with_system_and_code(s: TestServer) {
    let t = value_cohort(&s).await;
    t.expect("72.5|http://unitsofmeasure.org|kg", &[&t.w725])
        .await;
    t.expect("72.5|http://unitsofmeasure.org|g", &[]).await;
    t.expect(
        "gt0|http://unitsofmeasure.org|kg",
        &[&t.w725, &t.w7204, &t.w80],
    )
    .await;
    t.expect("gt0|http://unitsofmeasure.org|/min", &[&t.pulse])
        .await;
    t.expect("64|http://example.org/units|/min", &[]).await;
}

async fn value_quantity_without_system_matches_code_or_unit(s: TestServer) {
    let t = value_cohort(&s).await;
    t.expect("gt0||Cel", &[&t.temperature]).await;
    t.expect("gt0||°C", &[&t.temperature]).await;
    t.expect("72.5||kg", &[&t.w725]).await;
}

async fn value_quantity_missing(s: TestServer) {
    let t = value_cohort(&s).await;
    t.c.expect(&[("value-quantity:missing", "true")], &[&t.pressure])
        .await;
    t.c.expect(
        &[("value-quantity:missing", "false")],
        &[&t.w725, &t.w7204, &t.w80, &t.pulse, &t.temperature],
    )
    .await;
}

async fn value_quantity_refuses_text_and_token_modifiers(s: TestServer) {
    let t = value_cohort(&s).await;
    t.c.rejected(&[("value-quantity", "heavy")]).await;
    t.c.rejected(&[("value-quantity:not", "64")]).await;
    t.c.rejected(&[("value-quantity:exact", "64")]).await;
}

// --- code-value-quantity ----------------------------------------------------------------------

struct CompositeCohort<'a> {
    c: Cohort<'a>,
    /// 150/95
    high: String,
    /// 120/80
    normal: String,
    /// 64 /min
    pulse: String,
    /// 72.5 kg
    weight: String,
}

async fn composite_cohort(s: &TestServer) -> CompositeCohort<'_> {
    let mut c = Cohort::new(s, "Observation");
    let p = create_patient(s).await;
    CompositeCohort {
        high: c.add(blood_pressure(&p, 150.0, 95.0)).await,
        normal: c.add(blood_pressure(&p, 120.0, 80.0)).await,
        pulse: c.add(heart_rate(&p, 64.0)).await,
        weight: c.add(body_weight(&p, 72.5)).await,
        c,
    }
}

impl CompositeCohort<'_> {
    async fn expect(&self, value: &str, expected: &[&String]) {
        self.c
            .expect(&[("code-value-quantity", value)], expected)
            .await;
    }
}

async fn code_value_quantity_on_the_observation(s: TestServer) {
    let t = composite_cohort(&s).await;
    t.expect("http://loinc.org|8867-4$gt60", &[&t.pulse]).await;
    t.expect("http://loinc.org|8867-4$lt60", &[]).await;
    t.expect("8867-4$64", &[&t.pulse]).await;
    t.expect(
        "http://loinc.org|29463-7$72.5|http://unitsofmeasure.org|kg",
        &[&t.weight],
    )
    .await;
    t.expect(
        "http://loinc.org|29463-7$72.5|http://unitsofmeasure.org|g",
        &[],
    )
    .await;
    // The panel has no value of its own.
    t.expect("http://loinc.org|85354-9$gt0", &[]).await;
}

async fn code_value_quantity_on_a_component(s: TestServer) {
    let t = composite_cohort(&s).await;
    t.expect("http://loinc.org|8480-6$gt140", &[&t.high]).await;
    t.expect("http://loinc.org|8480-6$gt100", &[&t.high, &t.normal])
        .await;
    t.expect("http://loinc.org|8462-4$gt90", &[&t.high]).await;
    t.expect("http://loinc.org|8480-6$120", &[&t.normal]).await;
}

async fn code_value_quantity_pairs_code_and_value_of_one_component(s: TestServer) {
    let t = composite_cohort(&s).await;
    // 150 > 140 is the systolic pressure, not the diastolic one.
    t.expect("http://loinc.org|8462-4$gt140", &[]).await;
    t.expect(
        "http://loinc.org|8480-6$gt140,http://loinc.org|8867-4$gt60",
        &[&t.high, &t.pulse],
    )
    .await;
}

async fn code_value_quantity_without_a_quantity_is_400(s: TestServer) {
    let t = composite_cohort(&s).await;
    t.c.rejected(&[("code-value-quantity", "http://loinc.org|8480-6")])
        .await;
    t.c.rejected(&[("code-value-quantity", "http://loinc.org|8480-6$high")])
        .await;
}

// --- device and performer ------------------------------------------------------------------------

async fn device_by_reference_id_or_url_and_missing(s: TestServer) {
    let mut c = Cohort::new(&s, "Observation");
    let p = create_patient(&s).await;
    let by = |reference: &str| {
        with(
            heart_rate(&p, 64.0),
            "device",
            json!({"reference": reference}),
        )
    };
    let omron = c.add(by("Device/omron-7")).await;
    let remote_url = "http://devices.example.org/fhir/Device/nonin-3";
    let nonin = c.add(by(remote_url)).await;
    let metric = c.add(by("DeviceMetric/m1")).await;
    let manual = c.add(heart_rate(&p, 64.0)).await;
    c.expect(&[("device", "Device/omron-7")], &[&omron]).await;
    c.expect(&[("device", "omron-7")], &[&omron]).await;
    c.expect(&[("device", remote_url)], &[&nonin]).await;
    c.expect(&[("device", "DeviceMetric/m1")], &[&metric]).await;
    c.expect(&[("device", "Device/m1")], &[]).await;
    c.expect(&[("device:missing", "true")], &[&manual]).await;
}

async fn performer_by_type_and_id(s: TestServer) {
    let mut c = Cohort::new(&s, "Observation");
    let p = create_patient(&s).await;
    let practitioner = create_practitioner(&s).await;
    let organization = s
        .create(&json!({"resourceType": "Organization", "name": "Hjemmetjenesten"}))
        .await;
    let by = |reference: String| {
        with(
            heart_rate(&p, 64.0),
            "performer",
            json!([{"reference": reference}]),
        )
    };
    let self_measured = c.add(by(patient_ref(&p))).await;
    let nurse = c.add(by(format!("Practitioner/{practitioner}"))).await;
    let org_id = id_of(&organization);
    let unit = c.add(by(format!("Organization/{org_id}"))).await;
    let unknown = c.add(heart_rate(&p, 64.0)).await;
    let as_reference = format!("Practitioner/{practitioner}");
    let absolute = format!("{}/Practitioner/{practitioner}", s.base);
    for value in [&as_reference, &practitioner, &absolute] {
        c.expect(&[("performer", value)], &[&nurse]).await;
    }
    c.expect(&[("performer", &patient_ref(&p))], &[&self_measured])
        .await;
    let organization = format!("Organization/{org_id}");
    c.expect(&[("performer", &organization)], &[&unit]).await;
    c.expect(&[("performer:missing", "true")], &[&unknown])
        .await;
}

// --- _lastUpdated, paging, POST --------------------------------------------------------------

async fn last_updated_compares_with_the_write_time(s: TestServer) {
    let mut c = Cohort::new(&s, "Observation");
    let p = create_patient(&s).await;
    let earlier = c.add(heart_rate(&p, 64.0)).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let later = c.add(heart_rate(&p, 66.0)).await;
    let read = json_with_status(s.get(&format!("Observation/{later}")).await, 200).await;
    let stamp = read["meta"]["lastUpdated"].as_str().expect("lastUpdated");
    c.expect(&[("_lastUpdated", &format!("ge{stamp}"))], &[&later])
        .await;
    c.expect(&[("_lastUpdated", &format!("lt{stamp}"))], &[&earlier])
        .await;
    c.expect(&[("_lastUpdated", stamp)], &[&later]).await;
    c.expect(&[("_lastUpdated", "lt2000-01-01")], &[]).await;
}

async fn paging_walks_every_match_once(s: TestServer) {
    let mut c = Cohort::new(&s, "Observation");
    let p = create_patient(&s).await;
    let mut made = Ids::new();
    for bpm in 50..75 {
        made.insert(c.add(heart_rate(&p, f64::from(bpm))).await);
    }
    let mut page = c
        .get(&[("code", "8867-4"), ("_count", "10"), ("_total", "accurate")])
        .await;
    assert_eq!(page["total"], 25, "total counts every match");
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let ids = entry_ids(&page);
        sizes.push(ids.len());
        seen.extend(ids);
        let Some(next) = link(&page, "next") else {
            break;
        };
        assert!(sizes.len() < 10, "paging does not end");
        page = searchset(s.request(Method::GET, &next)).await;
    }
    assert_eq!(sizes, [10, 10, 5]);
    let unique: Ids = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "each match once: {seen:?}");
    assert_eq!(unique, made);
}

async fn post_search_finds_what_get_finds(s: TestServer) {
    let t = composite_cohort(&s).await;
    let params = [("code-value-quantity", "http://loinc.org|8480-6$gt100")];
    let posted: Ids = entry_ids(&t.c.post(&params).await).into_iter().collect();
    assert_eq!(posted, t.c.find(&params).await);
    assert_eq!(posted, Ids::from([t.high.clone(), t.normal.clone()]));
}

async fn modifiers_of_other_parameter_types_are_400(s: TestServer) {
    let t = code_cohort(&s).await;
    t.c.rejected(&[("code:exact", "8867-4")]).await;
    t.c.rejected(&[("code:contains", "8867")]).await;
    t.c.rejected(&[("patient:not", "x")]).await;
    t.c.rejected(&[("status:missing", "maybe")]).await;
}

on_both_backends!(
    blood_pressure_panel_round_trips,
    heart_rate_round_trips,
    oxygen_saturation_round_trips,
    body_temperature_round_trips,
    body_weight_round_trips,
    respiratory_rate_round_trips,
    blood_glucose_round_trips,
    questionnaire_score_round_trips,
    blood_pressure_with_norwegian_snomed_components_round_trips,
    unknown_code_is_stored_as_written,
    heart_rate_in_kg_is_422_at_the_unit_code,
    every_code_of_a_kind_fixes_its_unit,
    unit_outside_ucum_is_422_at_the_unit_system,
    blood_pressure_without_diastolic_is_422_at_component,
    blood_pressure_component_in_kpa_is_422_at_that_component,
    quantity_kind_as_string_is_422_at_value_string,
    vital_sign_filed_as_survey_is_422_at_category,
    unknown_status_is_422_at_status,
    invalid_national_id_on_subject_is_422,
    missing_status_is_400,
    missing_code_is_400,
    number_as_json_string_is_400_at_the_value,
    patient_takes_an_id_a_reference_or_this_servers_url,
    subject_matches_any_type_unless_one_is_named,
    subject_missing_finds_observations_without_one,
    patient_missing_counts_a_group_subject_as_missing,
    code_with_system_and_code,
    code_alone_matches_any_system,
    code_after_a_bar_has_no_system,
    code_system_alone_matches_any_code,
    code_alternatives_and_not,
    component_code_finds_panels_by_their_parts,
    combo_code_matches_the_code_or_a_component,
    category_by_code_and_system,
    category_missing_and_not,
    status_equals_alternatives_and_not,
    date_eq_at_each_precision,
    patient_code_and_date_together,
    date_gt_lt_ge_le_compare_whole_periods,
    date_ne_sa_and_eb,
    date_ap_is_near_but_not_far,
    date_missing_finds_undated_observations,
    invalid_date_is_400,
    value_quantity_eq_honours_precision,
    value_quantity_gt_lt_ge_le,
    value_quantity_ap_is_within_ten_percent,
    value_quantity_ne,
    value_quantity_with_system_and_code,
    value_quantity_without_system_matches_code_or_unit,
    value_quantity_missing,
    value_quantity_refuses_text_and_token_modifiers,
    code_value_quantity_on_the_observation,
    code_value_quantity_on_a_component,
    code_value_quantity_pairs_code_and_value_of_one_component,
    code_value_quantity_without_a_quantity_is_400,
    device_by_reference_id_or_url_and_missing,
    performer_by_type_and_id,
    last_updated_compares_with_the_write_time,
    paging_walks_every_match_once,
    post_search_finds_what_get_finds,
    modifiers_of_other_parameter_types_are_400,
);
