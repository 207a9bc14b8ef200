//! MedicationStatement ↔ the platform's medication plan entry, following
//! no-basis-MedicationStatement.
//!
//! The record holds what the platform's medication list shows (the medication by FEST and ATC
//! code and text, dosage text, period, status, who told, why); the snapshot keeps the rest, and
//! [`medication_statement_to_fhir`] patches only what differs.
//!
//! The medication's codes sit in `medicationCodeableConcept`, or, when the statement points to
//! a contained Medication (`#id`, as the R4 examples and no-basis-Medication do), in that
//! Medication's `code`. Codes of a Medication outside the resource are not part of the record.

use serde_json::{json, Map, Value};

use crate::index::{ParamKind, SearchParamDef, PARAM};
use crate::json::{array_mut, drop_if_empty, items, object_mut, set_or_remove, str_of};
use crate::patient::TenantContext;
use crate::resource_parts::{
    check_code, check_patient_subject, reference_at, set_reference, snapshot_or_fresh,
    subject_patient_id,
};
use crate::{MappingError, MappingIssue};

pub const PROFILE: &str = "http://hl7.no/fhir/StructureDefinition/no-basis-MedicationStatement";
/// FEST (Forskrivnings- og ekspedisjonsstøtte), the Norwegian medicinal product register.
pub const FEST_SYSTEM: &str = "http://ehelse.no/fhir/CodeSystem/FEST";
pub const ATC_SYSTEM: &str = "http://www.whocc.no/atc";
/// The Volven OID FEST itself writes ATC codes with.
pub const ATC_VOLVEN_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.1.7180";
pub const ICPC2_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.1.7170";
pub const ICD10_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.1.7110";
/// R4 medication-statement-status, the required binding of `MedicationStatement.status`.
const STATUSES: &[&str] = &[
    "active",
    "completed",
    "entered-in-error",
    "intended",
    "stopped",
    "on-hold",
    "unknown",
    "not-taken",
];

/// The platform's record of one entry in a patient's medication plan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MedicationPlanRecord {
    pub patient_id: Option<String>,
    pub fest_code: Option<String>,
    pub atc_code: Option<String>,
    pub medication_text: Option<String>,
    /// `medicationReference` as written.
    pub medication_reference: Option<String>,
    /// The first dosage text.
    pub dosage_text: Option<String>,
    /// Start of `effectivePeriod` (or `effectiveDateTime`), as written.
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    pub status: String,
    /// `informationSource` as written.
    pub information_source: Option<String>,
    /// (system, code) of the ICPC-2 and ICD-10 reasons, in order.
    pub reason_codes: Vec<(String, String)>,
}

pub const SEARCH_PARAMS: &[SearchParamDef] = &[
    SearchParamDef {
        name: "patient",
        kind: ParamKind::Reference,
        paths: &["subject"],
        definition: "http://hl7.org/fhir/SearchParameter/clinical-patient",
        documentation: "The patient who takes the medication",
        targets: &["Patient"],
    },
    SearchParamDef {
        name: "subject",
        kind: ParamKind::Reference,
        paths: &["subject"],
        definition: "http://hl7.org/fhir/SearchParameter/MedicationStatement-subject",
        documentation: "Who takes the medication",
        ..PARAM
    },
    SearchParamDef {
        name: "code",
        kind: ParamKind::Token,
        paths: &["medication[x]"],
        definition: "http://hl7.org/fhir/SearchParameter/clinical-code",
        documentation: "The medication's code (FEST, ATC)",
        ..PARAM
    },
    SearchParamDef {
        name: "status",
        kind: ParamKind::Token,
        paths: &["status"],
        definition: "http://hl7.org/fhir/SearchParameter/medications-status",
        documentation: "active | completed | entered-in-error | intended | stopped | on-hold | unknown | not-taken",
        ..PARAM
    },
    SearchParamDef {
        name: "effective",
        kind: ParamKind::Date,
        paths: &["effective[x]"],
        definition: "http://hl7.org/fhir/SearchParameter/MedicationStatement-effective",
        documentation: "When the medication is or was taken",
        ..PARAM
    },
    SearchParamDef {
        name: "medication",
        kind: ParamKind::Reference,
        paths: &["medication[x]"],
        definition: "http://hl7.org/fhir/SearchParameter/medications-medication",
        documentation: "The Medication resource taken",
        ..PARAM
    },
    SearchParamDef {
        name: "category",
        kind: ParamKind::Token,
        paths: &["category"],
        definition: "http://hl7.org/fhir/SearchParameter/MedicationStatement-category",
        documentation: "Where the medication is expected to be taken",
        ..PARAM
    },
    SearchParamDef {
        name: "source",
        kind: ParamKind::Reference,
        paths: &["informationSource"],
        definition: "http://hl7.org/fhir/SearchParameter/MedicationStatement-source",
        documentation: "Who reported the statement",
        ..PARAM
    },
];

/// Maps a MedicationStatement to the platform record: it belongs to a patient on this server,
/// has an R4 status, and its ATC codes have the ATC shape.
pub fn medication_statement_from_fhir(
    resource: &Value,
    _tenant: &TenantContext,
) -> Result<MedicationPlanRecord, MappingError> {
    let mut issues = Vec::new();
    check_code(
        resource,
        "MedicationStatement",
        "status",
        STATUSES,
        &mut issues,
    );
    check_patient_subject(resource, "MedicationStatement", &mut issues);
    if let Some((path, concept)) = medication_concept(resource) {
        for (i, coding) in items(concept, "coding").into_iter().enumerate() {
            let code = str_of(coding, "code").unwrap_or_default();
            if str_of(coding, "system").is_some_and(is_atc_system) && !is_atc_code(code) {
                issues.push(MappingIssue {
                    expression: format!("MedicationStatement.{path}.coding[{i}].code"),
                    message: format!(
                        "'{code}' is not an ATC code (letter, two digits, two letters, two \
                         digits as in C09AA05, or a shorter level such as C09 or C09AA)"
                    ),
                });
            }
        }
    }
    if !issues.is_empty() {
        return Err(MappingError { issues });
    }
    Ok(read_record(resource))
}

fn is_atc_system(system: &str) -> bool {
    system == ATC_SYSTEM || system == ATC_VOLVEN_SYSTEM
}

fn is_fest_system(system: &str) -> bool {
    system == FEST_SYSTEM
}

fn is_reason_system(system: &str) -> bool {
    system == ICPC2_SYSTEM || system == ICD10_SYSTEM
}

/// An ATC code at any of its five levels: C, C09, C09A, C09AA, C09AA05.
fn is_atc_code(code: &str) -> bool {
    const SHAPE: &[u8] = b"LDDLLDD";
    let code = code.as_bytes();
    matches!(code.len(), 1 | 3 | 4 | 5 | 7)
        && code.iter().zip(SHAPE).all(|(c, kind)| match kind {
            b'L' => c.is_ascii_uppercase(),
            _ => c.is_ascii_digit(),
        })
}

/// The id of the contained Medication the statement points to.
fn contained_medication_id(resource: &Value) -> Option<&str> {
    reference_at(resource, "medicationReference")?.strip_prefix('#')
}

fn is_medication(contained: &Value, id: &str) -> bool {
    str_of(contained, "resourceType") == Some("Medication") && str_of(contained, "id") == Some(id)
}

/// Where the medication's codes are (as a path below the resource) and the CodeableConcept.
fn medication_concept(resource: &Value) -> Option<(String, &Value)> {
    if let Some(concept) = resource.get("medicationCodeableConcept") {
        return Some(("medicationCodeableConcept".into(), concept));
    }
    let id = contained_medication_id(resource)?;
    let j = items(resource, "contained")
        .iter()
        .position(|c| is_medication(c, id))?;
    let concept = items(resource, "contained")[j].get("code")?;
    Some((format!("contained[{j}].code"), concept))
}

/// The record's view of a medication CodeableConcept: FEST code, ATC code, text.
type MedicationCodes = (Option<String>, Option<String>, Option<String>);

fn codes_of(concept: Option<&Value>) -> MedicationCodes {
    let code = |of_system: fn(&str) -> bool| {
        let coding = concept.map(|c| items(c, "coding")).unwrap_or_default();
        coding
            .into_iter()
            .find(|c| str_of(c, "system").is_some_and(of_system))
            .and_then(|c| str_of(c, "code"))
            .map(str::to_string)
    };
    (
        code(is_fest_system),
        code(is_atc_system),
        concept.and_then(|c| str_of(c, "text")).map(str::to_string),
    )
}

fn read_record(resource: &Value) -> MedicationPlanRecord {
    let (fest_code, atc_code, medication_text) =
        codes_of(medication_concept(resource).map(|(_, c)| c));
    let owned = |s: Option<&str>| s.map(str::to_string);
    let period = resource.get("effectivePeriod");
    MedicationPlanRecord {
        patient_id: subject_patient_id(resource),
        fest_code,
        atc_code,
        medication_text,
        medication_reference: owned(reference_at(resource, "medicationReference")),
        dosage_text: owned(
            items(resource, "dosage")
                .into_iter()
                .find_map(|d| str_of(d, "text")),
        ),
        period_start: owned(
            period
                .and_then(|p| str_of(p, "start"))
                .or_else(|| str_of(resource, "effectiveDateTime")),
        ),
        period_end: owned(period.and_then(|p| str_of(p, "end"))),
        status: str_of(resource, "status").unwrap_or_default().to_string(),
        information_source: owned(reference_at(resource, "informationSource")),
        reason_codes: tracked_reasons(resource),
    }
}

fn reason_of(coding: &Value) -> Option<(String, String)> {
    let system = str_of(coding, "system").filter(|s| is_reason_system(s))?;
    Some((system.to_string(), str_of(coding, "code")?.to_string()))
}

fn tracked_reasons(resource: &Value) -> Vec<(String, String)> {
    items(resource, "reasonCode")
        .into_iter()
        .flat_map(|c| items(c, "coding"))
        .filter_map(reason_of)
        .collect()
}

/// Builds the MedicationStatement the record describes; with `base` (the stored snapshot) only
/// the elements whose record value differs are rewritten.
pub fn medication_statement_to_fhir(
    record: &MedicationPlanRecord,
    base: Option<&Value>,
    _tenant: &TenantContext,
) -> Value {
    let mut resource = snapshot_or_fresh(base, "MedicationStatement", PROFILE);
    let current = read_record(&resource);
    if current.status != record.status {
        let status = Some(&record.status).filter(|s| !s.is_empty());
        set_or_remove(
            object_mut(&mut resource),
            "status",
            status.map(|s| json!(s)),
        );
    }
    let medication = |r: &MedicationPlanRecord| {
        (
            r.medication_reference.clone(),
            r.fest_code.clone(),
            r.atc_code.clone(),
            r.medication_text.clone(),
        )
    };
    if medication(&current) != medication(record) {
        patch_medication(&mut resource, record);
    }
    let obj = object_mut(&mut resource);
    if current.patient_id != record.patient_id {
        let subject = record.patient_id.as_ref().map(|id| format!("Patient/{id}"));
        set_reference(obj, "subject", subject.as_deref());
    }
    if (&current.period_start, &current.period_end) != (&record.period_start, &record.period_end) {
        patch_effective(obj, record);
    }
    if current.information_source != record.information_source {
        set_reference(
            obj,
            "informationSource",
            record.information_source.as_deref(),
        );
    }
    if current.reason_codes != record.reason_codes {
        patch_reasons(obj, &record.reason_codes);
    }
    if current.dosage_text != record.dosage_text {
        patch_dosage(obj, record.dosage_text.as_deref());
    }
    if base.is_none() && record.medication_reference.is_none() {
        // no-basis-MedicationStatement slices medication[x] by type and requires the
        // Reference: a statement coded directly does not conform, so it claims nothing.
        obj.shift_remove("meta");
    }
    resource
}

/// Points the statement at the record's medication and writes the codes where the record
/// reads them from; a contained Medication nothing points to any more goes.
fn patch_medication(resource: &mut Value, record: &MedicationPlanRecord) {
    let old_contained = contained_medication_id(resource).map(str::to_string);
    let obj = object_mut(resource);
    match record.medication_reference.as_deref() {
        None => {
            obj.shift_remove("medicationReference");
            patch_concept(obj, "medicationCodeableConcept", record);
        }
        Some(reference) => {
            obj.shift_remove("medicationCodeableConcept");
            let written = obj
                .get("medicationReference")
                .and_then(|r| str_of(r, "reference"));
            if written != Some(reference) {
                set_reference(obj, "medicationReference", Some(reference));
            }
            if let Some(id) = reference.strip_prefix('#') {
                let contained = array_mut(obj, "contained");
                let medication = match contained.iter().position(|c| is_medication(c, id)) {
                    Some(j) => &mut contained[j],
                    None => {
                        contained.push(json!({"resourceType": "Medication", "id": id}));
                        contained.last_mut().expect("just pushed")
                    }
                };
                patch_concept(object_mut(medication), "code", record);
            }
        }
    }
    if let Some(old) = old_contained {
        if !mentions_reference(resource, &format!("#{old}")) {
            let obj = object_mut(resource);
            array_mut(obj, "contained").retain(|c| !is_medication(c, &old));
            drop_if_empty(obj, "contained");
        }
    }
}

fn mentions_reference(value: &Value, reference: &str) -> bool {
    match value {
        Value::Object(o) => {
            o.get("reference").and_then(Value::as_str) == Some(reference)
                || o.values().any(|v| mentions_reference(v, reference))
        }
        Value::Array(a) => a.iter().any(|v| mentions_reference(v, reference)),
        _ => false,
    }
}

/// Writes the record's FEST code, ATC code and text into the CodeableConcept at `key`,
/// keeping its other codings. A changed code loses its display, which named the old code.
fn patch_concept(parent: &mut Map<String, Value>, key: &str, record: &MedicationPlanRecord) {
    let concept = object_mut(parent.entry(key).or_insert_with(|| json!({})));
    patch_coding(
        concept,
        is_fest_system,
        FEST_SYSTEM,
        record.fest_code.as_deref(),
    );
    patch_coding(
        concept,
        is_atc_system,
        ATC_SYSTEM,
        record.atc_code.as_deref(),
    );
    // Rewriting an unchanged text keeps its place in the object.
    set_or_remove(
        concept,
        "text",
        record.medication_text.clone().map(Value::String),
    );
    if concept.is_empty() {
        parent.shift_remove(key);
    }
}

/// Sets the code of the first coding whose system `of_system` accepts (keeping that system),
/// or adds a coding in `system`; `None` removes them all. An unchanged code is left alone.
fn patch_coding(
    concept: &mut Map<String, Value>,
    of_system: fn(&str) -> bool,
    system: &str,
    code: Option<&str>,
) {
    let codings = array_mut(concept, "coding");
    let slot = |c: &Value| str_of(c, "system").is_some_and(of_system);
    let index = codings.iter().position(slot);
    if index.and_then(|i| str_of(&codings[i], "code")) == code {
        drop_if_empty(concept, "coding");
        return;
    }
    match (code, index) {
        (Some(code), Some(i)) => {
            let coding = object_mut(&mut codings[i]);
            coding.insert("code".into(), json!(code));
            coding.shift_remove("display");
        }
        (Some(code), None) => codings.push(json!({"system": system, "code": code})),
        (None, _) => codings.retain(|c| !slot(c)),
    }
    drop_if_empty(concept, "coding");
}

/// A bare start keeps the `effectiveDateTime` form the statement was written with; anything
/// else is a period.
fn patch_effective(obj: &mut Map<String, Value>, record: &MedicationPlanRecord) {
    let as_date_time = obj.contains_key("effectiveDateTime") && record.period_end.is_none();
    match (&record.period_start, &record.period_end) {
        (None, None) => {
            obj.shift_remove("effectiveDateTime");
            obj.shift_remove("effectivePeriod");
        }
        (Some(start), None) if as_date_time => {
            obj.insert("effectiveDateTime".into(), json!(start));
        }
        (start, end) => {
            obj.shift_remove("effectiveDateTime");
            let period = object_mut(obj.entry("effectivePeriod").or_insert_with(|| json!({})));
            set_or_remove(period, "start", start.clone().map(Value::String));
            set_or_remove(period, "end", end.clone().map(Value::String));
        }
    }
}

/// Keeps the reasons the record still lists where they are (with their displays and the
/// concepts' other codings) and appends new ones; when the record reorders them, its order
/// wins and the reasons are written afresh.
fn patch_reasons(obj: &mut Map<String, Value>, wanted: &[(String, String)]) {
    let concepts = array_mut(obj, "reasonCode");
    let keep_listed = |concepts: &mut Vec<Value>, listed: &[(String, String)]| {
        let mut kept = Vec::new();
        concepts.retain_mut(|concept| {
            let c = object_mut(concept);
            let Some(codings) = c.get_mut("coding").and_then(Value::as_array_mut) else {
                return true;
            };
            let before = codings.len();
            codings.retain(|coding| match reason_of(coding) {
                Some(pair) if listed.contains(&pair) && !kept.contains(&pair) => {
                    kept.push(pair);
                    true
                }
                Some(_) => false,
                None => true,
            });
            // A concept whose every coding went described the removed reason.
            !(codings.is_empty() && before > 0)
        });
        kept
    };
    let mut kept = keep_listed(concepts, wanted);
    if !wanted.starts_with(&kept) {
        keep_listed(concepts, &[]);
        kept.clear();
    }
    for (system, code) in &wanted[kept.len()..] {
        concepts.push(json!({"coding": [{"system": system, "code": code}]}));
    }
    drop_if_empty(obj, "reasonCode");
}

/// The text goes on the dosage the record reads it from (else the first); other dosage
/// instructions stay.
fn patch_dosage(obj: &mut Map<String, Value>, text: Option<&str>) {
    let dosages = array_mut(obj, "dosage");
    match text {
        Some(text) => {
            let i = dosages.iter().position(|d| d.get("text").is_some());
            match i.or_else(|| (!dosages.is_empty()).then_some(0)) {
                Some(i) => {
                    object_mut(&mut dosages[i]).insert("text".into(), json!(text));
                }
                None => dosages.push(json!({"text": text})),
            }
        }
        None => {
            for dosage in dosages.iter_mut() {
                object_mut(dosage).shift_remove("text");
            }
            dosages.retain(|d| d.as_object().is_some_and(|o| !o.is_empty()));
        }
    }
    drop_if_empty(obj, "dosage");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource_parts::test_support::{
        assert_snapshot_round_trip, assert_valid_r4, indexed, issues_of,
    };

    fn from(resource: &Value) -> Result<MedicationPlanRecord, MappingError> {
        medication_statement_from_fhir(resource, &TenantContext::default())
    }

    fn to(record: &MedicationPlanRecord, base: Option<&Value>) -> Value {
        medication_statement_to_fhir(record, base, &TenantContext::default())
    }

    const FEST_RAMIPRIL: &str = "ID_2B8C5F0E-6A1D-4B8E-9F3A-7C1D2E3F4A5B";

    fn ramipril() -> Value {
        json!({
            "resourceType": "MedicationStatement",
            "meta": {"profile": [PROFILE]},
            "status": "active",
            "category": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/medication-statement-category", "code": "community"}]},
            "medicationCodeableConcept": {
                "coding": [
                    {"system": FEST_SYSTEM, "code": FEST_RAMIPRIL, "display": "Ramipril Actavis tab 5 mg"},
                    {"system": ATC_SYSTEM, "code": "C09AA05", "display": "ramipril"}
                ],
                "text": "Ramipril 5 mg tablett"
            },
            "subject": {"reference": "Patient/p-81f3", "display": "Ola Nordmann"},
            "effectivePeriod": {"start": "2026-09-01", "end": "2027-03-01"},
            "dateAsserted": "2026-09-01",
            "informationSource": {"reference": "Practitioner/pr-17"},
            "reasonCode": [
                {"coding": [{"system": ICPC2_SYSTEM, "code": "K86", "display": "Hypertensjon ukomplisert"}]},
                {"coding": [{"system": ICD10_SYSTEM, "code": "I10", "display": "Essensiell (primær) hypertensjon"}]}
            ],
            "dosage": [{
                "text": "1 tablett om morgenen",
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d", "when": ["MORN"]}},
                "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablett"}}]
            }]
        })
    }

    /// A statement pointing at a contained no-basis-Medication, with ATC under FEST's OID.
    fn contained_metformin() -> Value {
        json!({
            "resourceType": "MedicationStatement",
            "contained": [{
                "resourceType": "Medication",
                "id": "med1",
                "code": {"coding": [
                    {"system": FEST_SYSTEM, "code": "ID_0D1E2F3A-4B5C-6D7E-8F9A-0B1C2D3E4F5A", "display": "Metformin Teva tab 500 mg"},
                    {"system": ATC_VOLVEN_SYSTEM, "code": "A10BA02", "display": "metformin"}
                ]},
                "form": {"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.7448", "code": "53", "display": "Tablett"}]}
            }],
            "status": "on-hold",
            "medicationReference": {"reference": "#med1"},
            "subject": {"reference": "Patient/p-81f3"},
            "effectiveDateTime": "2025-02-10",
            "dosage": [{"text": "1 tablett 2 ganger daglig"}]
        })
    }

    // R4 examples MedicationStatement-example001 (contained Medication) and -example004
    // (coded medication, partOf), narrative left out.
    const R4_EXAMPLE001: &str = r##"{"resourceType": "MedicationStatement", "id": "example001", "contained": [{"resourceType": "Medication", "id": "med0309", "code": {"coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "50580-506-02", "display": "Tylenol PM"}]}, "form": {"coding": [{"system": "http://snomed.info/sct", "code": "385057009", "display": "Film-coated tablet (qualifier value)"}]}, "ingredient": [{"itemCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "315266", "display": "Acetaminophen 500 MG"}]}, "strength": {"numerator": {"value": 500, "system": "http://unitsofmeasure.org", "code": "mg"}, "denominator": {"value": 1, "system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm", "code": "Tab"}}}, {"itemCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "901813", "display": "Diphenhydramine Hydrochloride 25 mg"}]}, "strength": {"numerator": {"value": 25, "system": "http://unitsofmeasure.org", "code": "mg"}, "denominator": {"value": 1, "system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm", "code": "Tab"}}}], "batch": {"lotNumber": "9494788", "expirationDate": "2017-05-22"}}], "identifier": [{"use": "official", "system": "http://www.bmc.nl/portal/medstatements", "value": "12345689"}], "status": "active", "category": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/medication-statement-category", "code": "inpatient", "display": "Inpatient"}]}, "medicationReference": {"reference": "#med0309"}, "subject": {"reference": "Patient/pat1", "display": "Donald Duck"}, "effectiveDateTime": "2015-01-23", "dateAsserted": "2015-02-22", "informationSource": {"reference": "Patient/pat1", "display": "Donald Duck"}, "derivedFrom": [{"reference": "MedicationRequest/medrx002"}], "reasonCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "32914008", "display": "Restless Legs"}]}], "note": [{"text": "Patient indicates they miss the occasional dose"}], "dosage": [{"sequence": 1, "text": "1-2 tablets once daily at bedtime as needed for restless legs", "additionalInstruction": [{"text": "Taking at bedtime"}], "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}, "asNeededCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "32914008", "display": "Restless Legs"}]}, "route": {"coding": [{"system": "http://snomed.info/sct", "code": "26643006", "display": "Oral Route"}]}, "doseAndRate": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/dose-rate-type", "code": "ordered", "display": "Ordered"}]}, "doseRange": {"low": {"value": 1, "unit": "TAB", "system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm", "code": "TAB"}, "high": {"value": 2, "unit": "TAB", "system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm", "code": "TAB"}}}]}]}"##;
    const R4_EXAMPLE004: &str = r#"{"resourceType": "MedicationStatement", "id": "example004", "partOf": [{"reference": "Observation/blood-pressure"}], "status": "active", "medicationCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "27658006", "display": "Amoxicillin (product)"}]}, "subject": {"reference": "Patient/pat1", "display": "Donald Duck"}, "effectiveDateTime": "2014-01-23", "dateAsserted": "2015-02-22", "informationSource": {"reference": "Patient/pat1", "display": "Donald Duck"}, "reasonCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "65363002", "display": "Otitis Media"}]}], "note": [{"text": "Patient indicates they miss the occasional dose"}], "dosage": [{"text": "one capsule three times daily", "timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}}, "asNeededBoolean": false, "route": {"coding": [{"system": "http://snomed.info/sct", "code": "260548002", "display": "Oral"}]}, "maxDosePerPeriod": {"numerator": {"value": 3, "unit": "capsules", "system": "http://snomed.info/sct", "code": "385055001"}, "denominator": {"value": 1, "system": "http://unitsofmeasure.org", "code": "d"}}}]}"#;

    fn pair(system: &str, code: &str) -> (String, String) {
        (system.to_string(), code.to_string())
    }

    #[test]
    fn reads_every_modeled_field() {
        assert_eq!(
            from(&ramipril()).unwrap(),
            MedicationPlanRecord {
                patient_id: Some("p-81f3".into()),
                fest_code: Some(FEST_RAMIPRIL.into()),
                atc_code: Some("C09AA05".into()),
                medication_text: Some("Ramipril 5 mg tablett".into()),
                medication_reference: None,
                dosage_text: Some("1 tablett om morgenen".into()),
                period_start: Some("2026-09-01".into()),
                period_end: Some("2027-03-01".into()),
                status: "active".into(),
                information_source: Some("Practitioner/pr-17".into()),
                reason_codes: vec![pair(ICPC2_SYSTEM, "K86"), pair(ICD10_SYSTEM, "I10")],
            }
        );
        let contained = from(&contained_metformin()).unwrap();
        assert_eq!(contained.atc_code.as_deref(), Some("A10BA02"));
        assert_eq!(contained.medication_reference.as_deref(), Some("#med1"));
        assert_eq!(contained.period_start.as_deref(), Some("2025-02-10"));
    }

    #[test]
    fn record_to_fhir_and_back_is_the_same_record() {
        for written in [ramipril(), contained_metformin()] {
            let record = from(&written).unwrap();
            let fresh = to(&record, None);
            let claims = fresh["meta"]["profile"][0] == PROFILE;
            assert_eq!(claims, record.medication_reference.is_some(), "{fresh}");
            assert_valid_r4(&fresh);
            assert_eq!(from(&fresh).unwrap(), record, "{fresh}");
        }
        let fresh = to(&from(&contained_metformin()).unwrap(), None);
        assert_eq!(fresh["contained"][0]["id"], "med1");
        assert_eq!(fresh["effectivePeriod"], json!({"start": "2025-02-10"}));
    }

    #[test]
    fn unchanged_records_give_back_the_resource_as_written() {
        assert_snapshot_round_trip(&ramipril(), from, to);
        assert_snapshot_round_trip(&contained_metformin(), from, to);
        let example001 =
            assert_snapshot_round_trip(&serde_json::from_str(R4_EXAMPLE001).unwrap(), from, to);
        assert_eq!(example001.medication_reference.as_deref(), Some("#med0309"));
        assert_eq!(example001.reason_codes, []);
        let example004 =
            assert_snapshot_round_trip(&serde_json::from_str(R4_EXAMPLE004).unwrap(), from, to);
        assert_eq!(example004.atc_code, None);
        for record in [example001, example004] {
            assert_eq!(from(&to(&record, None)).unwrap(), record);
        }
    }

    #[test]
    fn a_changed_record_patches_only_its_fields() {
        let written = ramipril();
        let mut record = from(&written).unwrap();
        record.atc_code = Some("C09AA02".into());
        record.period_end = None;
        record.dosage_text = Some("1 tablett morgen og kveld".into());
        record.reason_codes = vec![pair(ICD10_SYSTEM, "I10"), pair(ICPC2_SYSTEM, "K87")];
        let out = to(&record, Some(&written));
        assert_valid_r4(&out);
        let coding = &out["medicationCodeableConcept"]["coding"];
        assert_eq!(coding[0], written["medicationCodeableConcept"]["coding"][0]);
        assert_eq!(coding[1], json!({"system": ATC_SYSTEM, "code": "C09AA02"}));
        assert_eq!(out["effectivePeriod"], json!({"start": "2026-09-01"}));
        assert_eq!(out["dosage"][0]["text"], "1 tablett morgen og kveld");
        assert_eq!(out["dosage"][0]["timing"], written["dosage"][0]["timing"]);
        assert_eq!(out["reasonCode"][0], written["reasonCode"][1]);
        assert_eq!(
            out["reasonCode"][1],
            json!({"coding": [{"system": ICPC2_SYSTEM, "code": "K87"}]})
        );
        for key in [
            "category",
            "subject",
            "dateAsserted",
            "informationSource",
            "status",
        ] {
            assert_eq!(out[key], written[key], "{key}");
        }
        assert_eq!(from(&out).unwrap(), record);

        // Reordered reasons are written afresh in the record's order.
        record.reason_codes.reverse();
        assert_eq!(from(&to(&record, Some(&out))).unwrap(), record);
    }

    #[test]
    fn changing_the_medication_reference_moves_the_codes() {
        let written = contained_metformin();
        let mut record = from(&written).unwrap();
        record.medication_reference = None;
        let coded = to(&record, Some(&written));
        assert_valid_r4(&coded);
        assert!(
            coded.get("contained").is_none(),
            "orphaned Medication stays: {coded}"
        );
        assert!(coded.get("medicationReference").is_none());
        assert_eq!(
            coded["medicationCodeableConcept"]["coding"][1],
            json!({"system": ATC_SYSTEM, "code": "A10BA02"})
        );
        assert_eq!(from(&coded).unwrap(), record);

        record.medication_reference = Some("Medication/fest-metformin".into());
        record.fest_code = None;
        record.atc_code = None;
        let referenced = to(&record, Some(&coded));
        assert_valid_r4(&referenced);
        assert!(referenced.get("medicationCodeableConcept").is_none());
        assert_eq!(
            referenced["medicationReference"],
            json!({"reference": "Medication/fest-metformin"})
        );
        assert_eq!(from(&referenced).unwrap(), record);
    }

    #[test]
    fn cleared_fields_remove_their_elements() {
        let written = ramipril();
        let record = MedicationPlanRecord {
            status: "stopped".into(),
            patient_id: Some("p-81f3".into()),
            ..MedicationPlanRecord::default()
        };
        let out = to(&record, Some(&written));
        for key in [
            "medicationCodeableConcept",
            "effectivePeriod",
            "informationSource",
            "reasonCode",
        ] {
            assert!(out.get(key).is_none(), "{key} should be gone: {out}");
        }
        assert_eq!(out["dosage"][0].get("text"), None);
        assert_eq!(out["dosage"][0]["timing"], written["dosage"][0]["timing"]);
        assert_eq!(out["status"], "stopped");
    }

    #[test]
    fn atc_shape_status_and_subject_are_checked() {
        for good in ["C", "C09", "C09A", "C09AA", "C09AA05"] {
            assert!(is_atc_code(good), "{good}");
        }
        for bad in [
            "", "c09aa05", "C9AA05", "C09AA5", "C09AA055", "CO9AA05", "C09A1",
        ] {
            assert!(!is_atc_code(bad), "{bad}");
        }
        let mut m = ramipril();
        m["status"] = json!("aktiv");
        m["subject"] = json!({"reference": "Group/g1"});
        m["medicationCodeableConcept"]["coding"][1]["code"] = json!("C09-AA05");
        assert_eq!(
            issues_of(from(&m)),
            [
                "MedicationStatement.status",
                "MedicationStatement.subject.reference",
                "MedicationStatement.medicationCodeableConcept.coding[1].code",
            ]
        );
        let mut m = contained_metformin();
        m["contained"][0]["code"]["coding"][1]["code"] = json!("A10B 02");
        assert_eq!(
            issues_of(from(&m)),
            ["MedicationStatement.contained[0].code.coding[1].code"]
        );
    }

    #[test]
    fn search_parameters_index_every_element() {
        let m = ramipril();
        let at = |param| indexed(&m, SEARCH_PARAMS, param);
        assert_eq!(at("patient"), ["Patient/p-81f3"]);
        assert_eq!(at("subject"), ["Patient/p-81f3"]);
        assert_eq!(
            at("code"),
            [
                format!("{FEST_SYSTEM}|{FEST_RAMIPRIL}"),
                format!("{ATC_SYSTEM}|C09AA05"),
                // The text and the displays, for `code:text`.
                "ramipril 5 mg tablett".into(),
                "ramipril actavis tab 5 mg".into(),
                "ramipril".into()
            ]
        );
        assert_eq!(at("status"), ["active"]);
        assert_eq!(
            at("effective"),
            ["2026-09-01T00:00:00.000Z..2027-03-01T23:59:59.999Z"]
        );
        assert_eq!(at("medication"), Vec::<String>::new());
        assert_eq!(
            at("category"),
            ["http://terminology.hl7.org/CodeSystem/medication-statement-category|community"]
        );
        assert_eq!(at("source"), ["Practitioner/pr-17"]);

        let c = contained_metformin();
        assert_eq!(indexed(&c, SEARCH_PARAMS, "medication"), ["#med1"]);
        assert_eq!(indexed(&c, SEARCH_PARAMS, "code"), Vec::<String>::new());
        assert_eq!(
            indexed(&c, SEARCH_PARAMS, "effective"),
            ["2025-02-10T00:00:00.000Z..2025-02-10T23:59:59.999Z"]
        );
    }
}
