//! MedicationStatement: entries of a patient's medication plan (no-basis-MedicationStatement)
//! coded with FEST and ATC, in the statement or in a contained Medication; the rules that
//! refuse a write; and every search parameter.

use helsebro_blackbox::{on_both_backends, TestServer};
use serde_json::{json, Value};

use crate::observation::{
    create_practitioner, diagnostics, malformed, missing_required, patient_ref, round_trip,
    unprocessable, Cohort,
};
use crate::r4_examples::without;
use crate::rest::{create_patient, with};

const FEST: &str = "http://ehelse.no/fhir/CodeSystem/FEST";
const ATC: &str = "http://www.whocc.no/atc";
/// The Volven OID FEST writes ATC codes with.
const ATC_VOLVEN: &str = "urn:oid:2.16.578.1.12.4.1.1.7180";
const ICPC2: &str = "urn:oid:2.16.578.1.12.4.1.1.7170";
const ICD10: &str = "urn:oid:2.16.578.1.12.4.1.1.7110";
const CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/medication-statement-category";
const FEST_RAMIPRIL: &str = "ID_2B8C5F0E-6A1D-4B8E-9F3A-7C1D2E3F4A5B";
const FEST_METFORMIN: &str = "ID_0D1E2F3A-4B5C-6D7E-8F9A-0B1C2D3E4F5A";

// --- helpers ---------------------------------------------------------------------------

fn category(code: &str) -> Value {
    json!({"coding": [{"system": CATEGORY, "code": code}]})
}

/// Ramipril 5 mg every morning for hypertension, coded with FEST and ATC, told by `source`.
/// It claims no profile: no-basis-MedicationStatement requires `medicationReference`.
fn ramipril(patient: &str, source: &str) -> Value {
    json!({
        "resourceType": "MedicationStatement",
        "status": "active",
        "category": category("community"),
        "medicationCodeableConcept": {
            "coding": [
                {"system": FEST, "code": FEST_RAMIPRIL, "display": "Ramipril Actavis tab 5 mg"},
                {"system": ATC, "code": "C09AA05", "display": "ramipril"}
            ],
            "text": "Ramipril 5 mg tablett"
        },
        "subject": {"reference": patient_ref(patient), "display": "Ola Nordmann"},
        "effectivePeriod": {"start": "2026-09-01", "end": "2027-03-01"},
        "dateAsserted": "2026-09-01",
        "informationSource": {"reference": source},
        "reasonCode": [
            {"coding": [{"system": ICPC2, "code": "K86", "display": "Hypertensjon ukomplisert"}]},
            {"coding": [{"system": ICD10, "code": "I10", "display": "Essensiell (primær) hypertensjon"}]}
        ],
        "dosage": [{
            "text": "1 tablett om morgenen",
            "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d", "when": ["MORN"]}},
            "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablett"}}]
        }]
    })
}

/// Metformin in a contained no-basis-Medication, its ATC code under FEST's Volven OID.
fn contained_metformin(patient: &str) -> Value {
    json!({
        "resourceType": "MedicationStatement",
        "contained": [{
            "resourceType": "Medication",
            "id": "med1",
            "code": {"coding": [
                {"system": FEST, "code": FEST_METFORMIN, "display": "Metformin Teva tab 500 mg"},
                {"system": ATC_VOLVEN, "code": "A10BA02", "display": "metformin"}
            ]},
            "form": {"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.7448", "code": "53", "display": "Tablett"}]}
        }],
        "status": "on-hold",
        "medicationReference": {"reference": "#med1"},
        "subject": {"reference": patient_ref(patient)},
        "effectiveDateTime": "2025-02-10",
        "informationSource": {"reference": patient_ref(patient)},
        "reasonCode": [{"coding": [{"system": ICPC2, "code": "T90", "display": "Diabetes type 2"}]}],
        "dosage": [{"text": "1 tablett 2 ganger daglig"}]
    })
}

/// A patient and the practitioner who told about the patient's medication.
async fn patient_and_source(s: &TestServer) -> (String, String) {
    let patient = create_patient(s).await;
    let source = format!("Practitioner/{}", create_practitioner(s).await);
    (patient, source)
}

// --- create and read ---------------------------------------------------------------------

async fn fest_and_atc_coded_statement_round_trips(s: TestServer) {
    let (p, source) = patient_and_source(&s).await;
    round_trip(&s, &ramipril(&p, &source)).await;
}

async fn contained_medication_round_trips(s: TestServer) {
    let p = create_patient(&s).await;
    round_trip(&s, &contained_metformin(&p)).await;
}

async fn statement_entered_in_error_round_trips(s: TestServer) {
    let (p, source) = patient_and_source(&s).await;
    let mistaken = with(ramipril(&p, &source), "status", json!("entered-in-error"));
    round_trip(&s, &mistaken).await;
}

async fn medication_of_an_unserved_type_round_trips(s: TestServer) {
    let p = create_patient(&s).await;
    let statement = without(&contained_metformin(&p), &["contained"]);
    let referenced = json!({"reference": "Medication/fest-metformin", "display": "Metformin"});
    round_trip(&s, &with(statement, "medicationReference", referenced)).await;
}

// --- refused writes ------------------------------------------------------------------------

async fn malformed_atc_code_is_422_at_the_coding(s: TestServer) {
    let (p, source) = patient_and_source(&s).await;
    for bad in ["C09-AA05", "c09aa05", "C09AA5", "C09AA055"] {
        let mut statement = ramipril(&p, &source);
        statement["medicationCodeableConcept"]["coding"][1]["code"] = json!(bad);
        let outcome = unprocessable(
            &s,
            &statement,
            &["MedicationStatement.medicationCodeableConcept.coding[1].code"],
        )
        .await;
        assert!(diagnostics(&outcome).contains(bad), "{outcome}");
    }
}

async fn malformed_atc_code_in_contained_medication_is_422(s: TestServer) {
    let p = create_patient(&s).await;
    let mut statement = contained_metformin(&p);
    statement["contained"][0]["code"]["coding"][1]["code"] = json!("A10B 02");
    unprocessable(
        &s,
        &statement,
        &["MedicationStatement.contained[0].code.coding[1].code"],
    )
    .await;
}

async fn atc_levels_above_the_substance_are_accepted(s: TestServer) {
    let (p, source) = patient_and_source(&s).await;
    for level in ["C", "C09", "C09A", "C09AA"] {
        let mut statement = ramipril(&p, &source);
        statement["medicationCodeableConcept"]["coding"][1]["code"] = json!(level);
        round_trip(&s, &statement).await;
    }
}

async fn unknown_status_is_422_at_status(s: TestServer) {
    let (p, source) = patient_and_source(&s).await;
    let statement = with(ramipril(&p, &source), "status", json!("aktiv"));
    unprocessable(&s, &statement, &["MedicationStatement.status"]).await;
}

async fn statement_about_a_group_is_422_at_subject(s: TestServer) {
    let (p, source) = patient_and_source(&s).await;
    let group = json!({"reference": "Group/g-1"});
    let statement = with(ramipril(&p, &source), "subject", group);
    unprocessable(&s, &statement, &["MedicationStatement.subject.reference"]).await;
}

async fn missing_status_or_subject_is_400(s: TestServer) {
    let (p, source) = patient_and_source(&s).await;
    for element in ["status", "subject"] {
        let statement = without(&ramipril(&p, &source), &[element]);
        missing_required(&s, &statement, element).await;
    }
}

async fn impossible_date_is_400_at_effective(s: TestServer) {
    let p = create_patient(&s).await;
    let statement = with(
        contained_metformin(&p),
        "effectiveDateTime",
        json!("2025-02-30"),
    );
    malformed(&s, &statement, "MedicationStatement.effectiveDateTime").await;
}

// --- search --------------------------------------------------------------------------------

struct Plan<'a> {
    c: Cohort<'a>,
    p1: String,
    p2: String,
    source: String,
    /// p1, active, FEST + ATC C09AA05, 2026-09-01 to 2027-03-01, community, told by the
    /// practitioner
    ramipril: String,
    /// p1, on-hold, contained Medication (A10BA02), 2025-02-10, told by the patient
    metformin: String,
    /// p2, completed, Medication/fest-paracetamol, 2024-01-01 to 2024-01-14, inpatient
    paracetamol: String,
    /// p2, entered-in-error, C09AA05 under the Volven OID, 2026-10-01, community
    mistaken: String,
}

async fn plan(s: &TestServer) -> Plan<'_> {
    let mut c = Cohort::new(s, "MedicationStatement");
    let (p1, source) = patient_and_source(s).await;
    let p2 = create_patient(s).await;
    let ramipril_entry = ramipril(&p1, &source);

    let mut paracetamol = without(
        &contained_metformin(&p2),
        &["contained", "effectiveDateTime"],
    );
    paracetamol["status"] = json!("completed");
    paracetamol["medicationReference"] = json!({"reference": "Medication/fest-paracetamol"});
    paracetamol["effectivePeriod"] = json!({"start": "2024-01-01", "end": "2024-01-14"});
    paracetamol["category"] = category("inpatient");

    let mut mistaken = without(&ramipril_entry, &["effectivePeriod", "informationSource"]);
    mistaken["status"] = json!("entered-in-error");
    mistaken["subject"] = json!({"reference": patient_ref(&p2)});
    mistaken["medicationCodeableConcept"] =
        json!({"coding": [{"system": ATC_VOLVEN, "code": "C09AA05"}]});
    mistaken["effectiveDateTime"] = json!("2026-10-01");

    Plan {
        ramipril: c.add(ramipril_entry).await,
        metformin: c.add(contained_metformin(&p1)).await,
        paracetamol: c.add(paracetamol).await,
        mistaken: c.add(mistaken).await,
        c,
        p1,
        p2,
        source,
    }
}

async fn patient_and_subject_find_the_patients_plan(s: TestServer) {
    let t = plan(&s).await;
    let first = [&t.ramipril, &t.metformin];
    t.c.expect(&[("patient", &t.p1)], &first).await;
    t.c.expect(&[("subject", &patient_ref(&t.p1))], &first)
        .await;
    let second = [&t.paracetamol, &t.mistaken];
    t.c.expect(&[("patient", &patient_ref(&t.p2))], &second)
        .await;
    t.c.expect(&[("subject", &t.p2)], &second).await;
}

async fn code_by_fest_and_atc(s: TestServer) {
    let t = plan(&s).await;
    let fest = format!("{FEST}|{FEST_RAMIPRIL}");
    t.c.expect(&[("code", &fest)], &[&t.ramipril]).await;
    let atc = format!("{ATC}|C09AA05");
    t.c.expect(&[("code", &atc)], &[&t.ramipril]).await;
    let volven = format!("{ATC_VOLVEN}|C09AA05");
    t.c.expect(&[("code", &volven)], &[&t.mistaken]).await;
    t.c.expect(&[("code", "C09AA05")], &[&t.ramipril, &t.mistaken])
        .await;
}

/// `code` is `medication.as(CodeableConcept)`: a contained Medication's code is not the
/// statement's code (that takes the chain `medication.code`).
async fn code_does_not_look_into_a_contained_medication(s: TestServer) {
    let t = plan(&s).await;
    t.c.expect(&[("code", "A10BA02")], &[]).await;
}

async fn status_equals_and_not(s: TestServer) {
    let t = plan(&s).await;
    t.c.expect(&[("status", "active")], &[&t.ramipril]).await;
    t.c.expect(&[("status", "entered-in-error")], &[&t.mistaken])
        .await;
    t.c.expect(
        &[("status:not", "entered-in-error")],
        &[&t.ramipril, &t.metformin, &t.paracetamol],
    )
    .await;
}

async fn effective_compares_periods_and_dates(s: TestServer) {
    let t = plan(&s).await;
    t.c.expect(&[("effective", "2026")], &[&t.mistaken]).await;
    t.c.expect(&[("effective", "2025-02-10")], &[&t.metformin])
        .await;
    t.c.expect(&[("effective", "ge2026-12-01")], &[&t.ramipril])
        .await;
    t.c.expect(&[("effective", "lt2025")], &[&t.paracetamol])
        .await;
    t.c.expect(
        &[("effective", "sa2025-12-31")],
        &[&t.ramipril, &t.mistaken],
    )
    .await;
    t.c.expect(&[("effective", "2024-01-01")], &[]).await;
}

async fn medication_by_reference_and_missing(s: TestServer) {
    let t = plan(&s).await;
    for value in ["Medication/fest-paracetamol", "fest-paracetamol"] {
        t.c.expect(&[("medication", value)], &[&t.paracetamol])
            .await;
    }
    t.c.expect(
        &[("medication:missing", "true")],
        &[&t.ramipril, &t.mistaken],
    )
    .await;
}

async fn category_by_system_and_code(s: TestServer) {
    let t = plan(&s).await;
    let community = format!("{CATEGORY}|community");
    t.c.expect(&[("category", &community)], &[&t.ramipril, &t.mistaken])
        .await;
    t.c.expect(&[("category", "inpatient")], &[&t.paracetamol])
        .await;
    t.c.expect(&[("category:missing", "true")], &[&t.metformin])
        .await;
}

async fn source_is_who_told(s: TestServer) {
    let t = plan(&s).await;
    t.c.expect(&[("source", &t.source)], &[&t.ramipril]).await;
    let practitioner_id = t.source.trim_start_matches("Practitioner/");
    t.c.expect(&[("source", practitioner_id)], &[&t.ramipril])
        .await;
    t.c.expect(&[("source", &patient_ref(&t.p1))], &[&t.metformin])
        .await;
    t.c.expect(&[("source:missing", "true")], &[&t.mistaken])
        .await;
}

on_both_backends!(
    fest_and_atc_coded_statement_round_trips,
    contained_medication_round_trips,
    statement_entered_in_error_round_trips,
    medication_of_an_unserved_type_round_trips,
    malformed_atc_code_is_422_at_the_coding,
    malformed_atc_code_in_contained_medication_is_422,
    atc_levels_above_the_substance_are_accepted,
    unknown_status_is_422_at_status,
    statement_about_a_group_is_422_at_subject,
    missing_status_or_subject_is_400,
    impossible_date_is_400_at_effective,
    patient_and_subject_find_the_patients_plan,
    code_by_fest_and_atc,
    code_does_not_look_into_a_contained_medication,
    status_equals_and_not,
    effective_compares_periods_and_dates,
    medication_by_reference_and_missing,
    category_by_system_and_code,
    source_is_who_told,
);
