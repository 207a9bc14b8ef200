//! Observation ↔ the platform's measurement record, following VkpObservation.
//!
//! The record holds what the platform works with: the kind of measurement (from the code,
//! see [`crate::codes`]), its value and UCUM unit (two values for a blood pressure), when it
//! was taken, who or what took it, and the first interpretation and note. The snapshot of
//! the resource keeps everything else; [`observation_to_fhir`] patches only the elements
//! whose record value differs, so a resource written is the resource read back.
//!
//! Observations the platform does not model as measurements (kind `None`) are still
//! accepted and stored: an unknown code is not an error.

use helsebro_profiles::identifiers::{self, NationalIdKind};
use serde_json::{json, Map, Number, Value};

use crate::codes::{
    self, ComponentCodes, KindCodes, MeasurementKind, LOINC, OBSERVATION_CATEGORY, SNOMED, UCUM,
};
use crate::index::{split_reference, ParamKind, SearchParamDef, PARAM};
use crate::json::{array_mut, drop_if_empty, items, object_mut, set_or_remove, str_of};
use crate::patient::TenantContext;
use crate::{MappingError, MappingIssue};

/// The general VkpObservation profile. Glucose, questionnaire scores and observations the
/// platform does not model claim it; the vital signs claim their kind's own VkpObservation
/// profile ([`KindCodes::profile`]), see [`profile_for`].
pub const PROFILE_VITAL: &str = codes::VKP_OBSERVATION;
pub const INTERPRETATION_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
pub const DATA_ABSENT_REASON_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/data-absent-reason";

const STATUSES: &[&str] = &[
    "registered",
    "preliminary",
    "final",
    "amended",
    "corrected",
    "cancelled",
    "entered-in-error",
    "unknown",
];

/// How a measurement reached the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeasurementSource {
    /// Sent by a device (the Observation names one).
    Device,
    /// Entered by the patient or a relative (performer Patient or RelatedPerson).
    Patient,
    /// Entered by health personnel (performer Practitioner, PractitionerRole or CareTeam).
    Clinician,
}

/// The platform's measurement record.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MeasurementRecord {
    /// From a relative `subject` reference `Patient/{id}`.
    pub patient_id: Option<String>,
    /// `None`: an Observation the platform does not model as a measurement.
    pub kind: Option<MeasurementKind>,
    pub status: String,
    /// The value; for a blood pressure the systolic pressure.
    pub value: Option<f64>,
    /// The diastolic pressure; only a blood pressure has a second value.
    pub value2: Option<f64>,
    /// The UCUM code of the value's unit.
    pub unit: Option<String>,
    /// The first coding of `code` as (system, code) when the kind has no fixed code: the
    /// questionnaire's code for a score, the observation's own code for kind `None`.
    pub score_code: Option<(Option<String>, String)>,
    /// `code.text`: the questionnaire's name for a score.
    pub score_text: Option<String>,
    /// `effectiveDateTime` (or `effectivePeriod.start`, `effectiveInstant`) as written.
    pub effective_start: Option<String>,
    /// `effectivePeriod.end` as written.
    pub effective_end: Option<String>,
    /// Follows from `device` and the performers; see [`MeasurementSource`].
    pub source: Option<MeasurementSource>,
    /// `device.reference` as written.
    pub device: Option<String>,
    /// The first performer's `reference` as written.
    pub performer: Option<String>,
    /// The first interpretation code.
    pub interpretation: Option<String>,
    /// The first note's text.
    pub note: Option<String>,
}

pub const SEARCH_PARAMS: &[SearchParamDef] = &[
    SearchParamDef {
        name: "patient",
        kind: ParamKind::Reference,
        paths: &["subject"],
        definition: "http://hl7.org/fhir/SearchParameter/clinical-patient",
        documentation: "The subject of the observation, if a patient",
        targets: &["Patient"],
    },
    SearchParamDef {
        name: "subject",
        kind: ParamKind::Reference,
        paths: &["subject"],
        definition: "http://hl7.org/fhir/SearchParameter/Observation-subject",
        documentation: "The subject that the observation is about",
        targets: &["Patient", "Group", "Device", "Location"],
    },
    SearchParamDef {
        name: "code",
        kind: ParamKind::Token,
        paths: &["code"],
        definition: "http://hl7.org/fhir/SearchParameter/clinical-code",
        documentation: "The code of the observation type (LOINC, SNOMED CT or NLK)",
        ..PARAM
    },
    SearchParamDef {
        name: "category",
        kind: ParamKind::Token,
        paths: &["category"],
        definition: "http://hl7.org/fhir/SearchParameter/Observation-category",
        documentation: "The classification of the type of observation (vital-signs, survey, …)",
        ..PARAM
    },
    SearchParamDef {
        name: "date",
        kind: ParamKind::Date,
        paths: &["effective[x]"],
        definition: "http://hl7.org/fhir/SearchParameter/clinical-date",
        documentation: "Obtained date/time; a period covers its whole span",
        ..PARAM
    },
    SearchParamDef {
        name: "status",
        kind: ParamKind::Token,
        paths: &["status"],
        definition: "http://hl7.org/fhir/SearchParameter/Observation-status",
        documentation: "The status of the observation",
        ..PARAM
    },
    SearchParamDef {
        name: "value-quantity",
        kind: ParamKind::Quantity,
        paths: &["value[x]"],
        definition: "http://hl7.org/fhir/SearchParameter/Observation-value-quantity",
        documentation: "The value of the observation, if a Quantity",
        ..PARAM
    },
    SearchParamDef {
        name: "component-code",
        kind: ParamKind::Token,
        paths: &["component.code"],
        definition: "http://hl7.org/fhir/SearchParameter/Observation-component-code",
        documentation: "The component code (systolic 8480-6, diastolic 8462-4, …)",
        ..PARAM
    },
    SearchParamDef {
        name: "code-value-quantity",
        kind: ParamKind::TokenQuantity,
        // The empty path is the Observation itself: its own code and value, then each component's.
        paths: &["", "component"],
        definition: "http://hl7.org/fhir/SearchParameter/Observation-code-value-quantity",
        documentation: "Code and quantity value of the observation or a component (code$value)",
        ..PARAM
    },
    SearchParamDef {
        name: "component-code-value-quantity",
        kind: ParamKind::TokenQuantity,
        paths: &["component"],
        definition: "http://hl7.org/fhir/SearchParameter/Observation-component-code-value-quantity",
        documentation: "Code and quantity value of a component (code$value)",
        ..PARAM
    },
    SearchParamDef {
        name: "combo-code-value-quantity",
        kind: ParamKind::TokenQuantity,
        paths: &["", "component"],
        definition: "http://hl7.org/fhir/SearchParameter/Observation-combo-code-value-quantity",
        documentation: "Code and quantity value of the observation or a component (code$value)",
        ..PARAM
    },
    SearchParamDef {
        name: "combo-code",
        kind: ParamKind::Token,
        paths: &["code", "component.code"],
        definition: "http://hl7.org/fhir/SearchParameter/Observation-combo-code",
        documentation: "The code of the observation or any of its components",
        ..PARAM
    },
    SearchParamDef {
        name: "device",
        kind: ParamKind::Reference,
        paths: &["device"],
        definition: "http://hl7.org/fhir/SearchParameter/Observation-device",
        documentation: "The device that took the measurement",
        targets: &["Device", "DeviceMetric"],
    },
    SearchParamDef {
        name: "performer",
        kind: ParamKind::Reference,
        paths: &["performer"],
        definition: "http://hl7.org/fhir/SearchParameter/Observation-performer",
        documentation: "Who performed the observation",
        targets: &[
            "Practitioner",
            "PractitionerRole",
            "Organization",
            "CareTeam",
            "Patient",
            "RelatedPerson",
        ],
    },
];

/// Maps an Observation to the platform record, checking what the record depends on: a
/// known measurement has its value as a Quantity in one of the kind's UCUM units (a blood
/// pressure as systolic and diastolic components), sits in the kind's category when a
/// category is given, and Norwegian identifiers of subject and performers are valid.
pub fn observation_from_fhir(
    resource: &Value,
    tenant: &TenantContext,
) -> Result<MeasurementRecord, MappingError> {
    let mut issues = Vec::new();
    check_status(resource, &mut issues);
    if let Some(codes) = read_kind(resource).0.map(MeasurementKind::codes) {
        if codes.kind.has_fixed_code() {
            check_category(resource, codes, &mut issues);
            if codes.components.is_empty() {
                check_value(
                    resource,
                    "Observation",
                    codes.ucum,
                    &name(codes),
                    &mut issues,
                );
            } else {
                check_components(resource, codes, &mut issues);
            }
        }
    }
    check_identifiers(resource, tenant, &mut issues);
    if !issues.is_empty() {
        return Err(MappingError { issues });
    }
    Ok(read_record(resource))
}

/// "heart rate" for `heart_rate`: the kind as people say it, for messages.
fn name(codes: &KindCodes) -> String {
    codes.key.replace('_', " ")
}

fn issue(expression: impl Into<String>, message: impl Into<String>) -> MappingIssue {
    MappingIssue {
        expression: expression.into(),
        message: message.into(),
    }
}

fn check_status(resource: &Value, issues: &mut Vec<MappingIssue>) {
    match str_of(resource, "status") {
        Some(s) if STATUSES.contains(&s) => {}
        Some(s) => issues.push(issue(
            "Observation.status",
            format!(
                "'{s}' is not an observation status ({})",
                STATUSES.join(" | ")
            ),
        )),
        None => issues.push(issue(
            "Observation.status",
            format!("an observation has a status ({})", STATUSES.join(" | ")),
        )),
    }
}

/// The observation-category codes of a resource; other category systems say nothing about
/// where the platform files the measurement.
fn category_codes(resource: &Value) -> Vec<&str> {
    items(resource, "category")
        .into_iter()
        .flat_map(|c| items(c, "coding"))
        .filter(|c| str_of(c, "system") == Some(OBSERVATION_CATEGORY))
        .filter_map(|c| str_of(c, "code"))
        .collect()
}

fn check_category(resource: &Value, codes: &KindCodes, issues: &mut Vec<MappingIssue>) {
    let given = category_codes(resource);
    if !given.is_empty() && !given.iter().any(|c| codes.accepts_category(c)) {
        issues.push(issue(
            "Observation.category",
            format!(
                "a {} has category {} ({OBSERVATION_CATEGORY}), not {}",
                name(codes),
                codes.category,
                given.join(", ")
            ),
        ));
    }
}

/// The `value[x]` element present on `holder`, if any.
fn value_key(holder: &Value) -> Option<&str> {
    holder.as_object()?.keys().map(String::as_str).find(|k| {
        k.strip_prefix("value")
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
    })
}

fn check_value(
    holder: &Value,
    path: &str,
    units: &[&str],
    what: &str,
    issues: &mut Vec<MappingIssue>,
) {
    match value_key(holder) {
        None => {}
        Some("valueQuantity") => {
            check_unit(&holder["valueQuantity"], path, units, what, issues);
        }
        Some(other) => issues.push(issue(
            format!("{path}.{other}"),
            format!("a {what} is a Quantity: send it as valueQuantity"),
        )),
    }
}

fn check_unit(
    quantity: &Value,
    path: &str,
    units: &[&str],
    what: &str,
    issues: &mut Vec<MappingIssue>,
) {
    let allowed = units.join(", ");
    if str_of(quantity, "system") != Some(UCUM) {
        issues.push(issue(
            format!("{path}.valueQuantity.system"),
            format!("the unit of a {what} is a UCUM code: the system is {UCUM}"),
        ));
    }
    match str_of(quantity, "code") {
        Some(code) if units.contains(&code) => {}
        Some(code) => issues.push(issue(
            format!("{path}.valueQuantity.code"),
            format!("'{code}' is not a unit for a {what}; use {allowed} (UCUM)"),
        )),
        None => issues.push(issue(
            format!("{path}.valueQuantity.code"),
            format!("the unit code is missing; a {what} is given in {allowed} (UCUM)"),
        )),
    }
}

fn check_components(resource: &Value, codes: &KindCodes, issues: &mut Vec<MappingIssue>) {
    // A panel that was not measured at all says so once, for the whole observation.
    let absent = resource.get("dataAbsentReason").is_some();
    let list = items(resource, "component");
    for part in codes.components {
        let what = format!("{} {}", part.key, name(codes));
        match component_index(resource, part) {
            None if absent => {}
            None => issues.push(issue(
                "Observation.component",
                format!(
                    "a {} has a {} component (LOINC {})",
                    name(codes),
                    part.key,
                    part.loinc
                ),
            )),
            Some(i) => {
                let path = format!("Observation.component[{i}]");
                let c = list[i];
                if value_key(c).is_none() && c.get("dataAbsentReason").is_none() {
                    issues.push(issue(
                        path,
                        format!(
                            "the {what} has a valueQuantity in {} or a dataAbsentReason",
                            part.ucum.join(", ")
                        ),
                    ));
                } else {
                    check_value(c, &path, part.ucum, &what, issues);
                }
            }
        }
    }
}

fn check_identifiers(resource: &Value, tenant: &TenantContext, issues: &mut Vec<MappingIssue>) {
    let mut check = |reference: &Value, path: String| {
        let Some(identifier) = reference.get("identifier") else {
            return;
        };
        let (Some(system), Some(value)) =
            (str_of(identifier, "system"), str_of(identifier, "value"))
        else {
            return;
        };
        if let Some(Err(e)) = identifiers::check_identifier(system, value, tenant.is_test) {
            issues.push(issue(
                format!("{path}.identifier.value"),
                format!(
                    "the value is not a valid {} ({system}): {e}",
                    identifier_name(system)
                ),
            ));
        }
    };
    if let Some(subject) = resource.get("subject") {
        check(subject, "Observation.subject".into());
    }
    for (i, performer) in items(resource, "performer").into_iter().enumerate() {
        check(performer, format!("Observation.performer[{i}]"));
    }
}

fn identifier_name(system: &str) -> &'static str {
    if let Some(kind) = NationalIdKind::from_system(system) {
        kind.name()
    } else if system == identifiers::HPR_SYSTEM {
        "HPR-nummer"
    } else if identifiers::is_organisation_number_system(system) {
        "organisasjonsnummer"
    } else {
        "identifier"
    }
}

/// The kind the codings name, and the first coding when the kind has no fixed code.
///
/// A questionnaire score has no fixed code, so it is recognised by what it looks like: an
/// Observation in category `survey` whose value is absent or a dimensionless Quantity.
fn read_kind(resource: &Value) -> (Option<MeasurementKind>, Option<(Option<String>, String)>) {
    let codings = resource
        .get("code")
        .map(|c| items(c, "coding"))
        .unwrap_or_default();
    let known = codings
        .iter()
        .find_map(|c| codes::kind_of_coding(str_of(c, "system").unwrap_or(""), str_of(c, "code")?));
    if let Some(k) = known {
        return (Some(k.kind), None);
    }
    let first = codings.first().and_then(|c| {
        Some((
            str_of(c, "system").map(str::to_string),
            str_of(c, "code")?.to_string(),
        ))
    });
    let survey = category_codes(resource).contains(&"survey");
    let score_value = match value_key(resource) {
        None => true,
        Some("valueQuantity") => {
            let q = &resource["valueQuantity"];
            match str_of(q, "code") {
                None => true,
                Some(code) => str_of(q, "system") == Some(UCUM) && codes::is_score_unit(code),
            }
        }
        Some(_) => false,
    };
    let kind = (survey && score_value).then_some(MeasurementKind::QuestionnaireScore);
    (kind, first)
}

fn is_component(component: &Value, part: &ComponentCodes) -> bool {
    component
        .get("code")
        .map(|code| items(code, "coding"))
        .unwrap_or_default()
        .iter()
        .any(|coding| {
            part.matches(
                str_of(coding, "system").unwrap_or(""),
                str_of(coding, "code").unwrap_or(""),
            )
        })
}

fn component_index(resource: &Value, part: &ComponentCodes) -> Option<usize> {
    items(resource, "component")
        .iter()
        .position(|c| is_component(c, part))
}

/// The value and UCUM unit of `holder.valueQuantity`. A unit in another system is not a
/// unit the platform can use, so it reads as none.
fn quantity_of(holder: &Value) -> (Option<f64>, Option<String>) {
    let Some(q) = holder.get("valueQuantity") else {
        return (None, None);
    };
    let value = q.get("value").and_then(Value::as_f64);
    let unit = (str_of(q, "system") == Some(UCUM))
        .then(|| str_of(q, "code").map(str::to_string))
        .flatten();
    (value, unit)
}

/// The last path segment of a `Reference.type` (`Patient` or its StructureDefinition URL).
fn reference_type(reference: &Value) -> Option<String> {
    if let Some(t) = str_of(reference, "type") {
        return t.rsplit('/').next().map(str::to_string);
    }
    split_reference(str_of(reference, "reference")?).0
}

fn read_source(resource: &Value) -> Option<MeasurementSource> {
    if resource.get("device").is_some() {
        return Some(MeasurementSource::Device);
    }
    items(resource, "performer").into_iter().find_map(|p| {
        match reference_type(p)?.as_str() {
            "Patient" | "RelatedPerson" => Some(MeasurementSource::Patient),
            "Practitioner" | "PractitionerRole" | "CareTeam" => Some(MeasurementSource::Clinician),
            // An organisation is who answers for the data, not how it was taken.
            _ => None,
        }
    })
}

/// Reads the record's view of a resource without judging it: used both after checking and
/// to compare a stored snapshot with a record.
fn read_record(resource: &Value) -> MeasurementRecord {
    let (kind, score_code) = read_kind(resource);
    let (value, value2, unit) = if kind == Some(MeasurementKind::BloodPressure) {
        let list = items(resource, "component");
        let [(v1, u1), (v2, u2)] = [codes::SYSTOLIC, codes::DIASTOLIC].map(|part| {
            component_index(resource, &part)
                .map(|i| quantity_of(list[i]))
                .unwrap_or_default()
        });
        (v1, v2, u1.or(u2))
    } else {
        let (v, u) = quantity_of(resource);
        (v, None, u)
    };
    let (effective_start, effective_end) = if let Some(s) = str_of(resource, "effectiveDateTime") {
        (Some(s), None)
    } else if let Some(p) = resource.get("effectivePeriod") {
        (str_of(p, "start"), str_of(p, "end"))
    } else {
        (str_of(resource, "effectiveInstant"), None)
    };
    let owned = |s: Option<&str>| s.map(str::to_string);
    MeasurementRecord {
        patient_id: resource
            .get("subject")
            .and_then(|s| str_of(s, "reference"))
            .and_then(|r| match split_reference(r) {
                (Some(t), Some(id), None) if t == "Patient" => Some(id),
                _ => None,
            }),
        kind,
        status: str_of(resource, "status").unwrap_or_default().to_string(),
        value,
        value2,
        unit,
        score_code,
        score_text: owned(resource.get("code").and_then(|c| str_of(c, "text"))),
        effective_start: owned(effective_start),
        effective_end: owned(effective_end),
        source: read_source(resource),
        device: owned(resource.get("device").and_then(|d| str_of(d, "reference"))),
        performer: owned(
            items(resource, "performer")
                .into_iter()
                .find_map(|p| str_of(p, "reference")),
        ),
        interpretation: owned(
            items(resource, "interpretation")
                .into_iter()
                .flat_map(|i| items(i, "coding"))
                .find_map(|c| str_of(c, "code")),
        ),
        note: owned(
            items(resource, "note")
                .first()
                .and_then(|n| str_of(n, "text")),
        ),
    }
}

/// The profile a fresh Observation for `record` claims.
pub fn profile_for(record: &MeasurementRecord) -> &'static str {
    match record.kind {
        Some(MeasurementKind::QuestionnaireScore) => record
            .score_code
            .as_ref()
            .filter(|(system, _)| system.as_deref() == Some(SNOMED))
            .and_then(|(_, code)| {
                codes::SCORE_PROFILES
                    .iter()
                    .find(|(c, _)| c == code)
                    .map(|(_, p)| *p)
            })
            .unwrap_or(PROFILE_VITAL),
        Some(kind) => kind.codes().profile,
        None => PROFILE_VITAL,
    }
}

/// Every profile this module writes, so a kind change can swap them.
fn own_profiles() -> impl Iterator<Item = &'static str> {
    codes::KINDS
        .iter()
        .map(|k| k.profile)
        .chain(codes::SCORE_PROFILES.iter().map(|(_, p)| *p))
        .chain([PROFILE_VITAL])
}

/// Builds the Observation the record describes. With `base` (the current snapshot) only the
/// elements whose record value differs are rewritten; everything else stays as written.
/// Without it the result is a fresh VkpObservation.
///
/// `source` follows from `device` and the performers. When they do not already say it, it
/// is written as a reference that has only a `type` (`device: {"type": "Device"}`, a
/// performer `{"type": "Patient"}`); a record whose device contradicts its source (a device
/// with source Patient) cannot be written and reads back with source Device.
///
/// The tenant is not written as the organisation performer (VKP's "dataansvarlig"): the
/// VkpObservation vital-sign profiles allow only Practitioner performers.
pub fn observation_to_fhir(
    record: &MeasurementRecord,
    base: Option<&Value>,
    _tenant: &TenantContext,
) -> Value {
    let fresh = base.is_none();
    let mut resource = base.cloned().unwrap_or_else(|| {
        json!({
            "resourceType": "Observation",
            "meta": {"profile": [profile_for(record)]},
        })
    });
    let current = read_record(&resource);
    if current == *record && !fresh {
        return resource;
    }
    let obj = object_mut(&mut resource);
    if current.status != record.status {
        set_or_remove(
            obj,
            "status",
            (!record.status.is_empty()).then(|| json!(record.status)),
        );
    }
    patch_code(obj, &current, record);
    if current.kind != record.kind {
        patch_category(obj, current.kind, record.kind);
    }
    if profile_for(&current) != profile_for(record) {
        patch_profile(obj, profile_for(record));
    }
    if current.patient_id != record.patient_id {
        patch_subject(obj, record.patient_id.as_deref());
    }
    if (&current.effective_start, &current.effective_end)
        != (&record.effective_start, &record.effective_end)
    {
        patch_effective(
            obj,
            record.effective_start.as_deref(),
            record.effective_end.as_deref(),
        );
    }
    if current.device != record.device {
        set_or_remove(
            obj,
            "device",
            record.device.as_ref().map(|d| json!({"reference": d})),
        );
    }
    if current.performer != record.performer {
        patch_performer(obj, record.performer.as_deref());
    }
    patch_source(obj, record);
    let blood_pressure = |k: Option<MeasurementKind>| k == Some(MeasurementKind::BloodPressure);
    // Only when the values change: writing them fills in what the profiles require (both
    // pressure components, a dataAbsentReason), which a stored snapshot may have said
    // differently, e.g. a cancelled panel with one dataAbsentReason for the whole.
    if fresh
        || blood_pressure(current.kind) != blood_pressure(record.kind)
        || (current.value, current.value2, &current.unit)
            != (record.value, record.value2, &record.unit)
    {
        patch_values(obj, &current, record);
    }
    if current.interpretation != record.interpretation {
        patch_interpretation(obj, record.interpretation.as_deref());
    }
    if current.note != record.note {
        patch_note(obj, record.note.as_deref());
    }
    order_elements(obj);
    resource
}

fn coding(system: &str, code: &str, display: &str) -> Value {
    let mut c = json!({"system": system, "code": code});
    if !display.is_empty() {
        object_mut(&mut c).insert("display".into(), json!(display));
    }
    c
}

fn kind_codings(k: &KindCodes) -> Vec<Value> {
    let mut out = vec![coding(LOINC, k.loinc, k.loinc_display)];
    out.extend(
        k.extra_codings
            .iter()
            .map(|c| coding(c.system, c.code, c.display)),
    );
    if let Some(snomed) = k.snomed {
        out.push(coding(SNOMED, snomed, k.snomed_display.unwrap_or("")));
    }
    out
}

fn patch_code(
    obj: &mut Map<String, Value>,
    current: &MeasurementRecord,
    record: &MeasurementRecord,
) {
    let kind_changed = current.kind != record.kind;
    let code = object_mut(obj.entry("code").or_insert_with(|| json!({})));
    match record.kind.filter(|k| k.has_fixed_code()) {
        Some(kind) => {
            if kind_changed {
                code.insert("coding".into(), json!(kind_codings(kind.codes())));
            }
        }
        None => {
            if kind_changed || current.score_code != record.score_code {
                set_or_remove(
                    code,
                    "coding",
                    record.score_code.as_ref().map(|(system, c)| {
                        let mut one = Map::new();
                        if let Some(s) = system {
                            one.insert("system".into(), json!(s));
                        }
                        one.insert("code".into(), json!(c));
                        json!([one])
                    }),
                );
            }
        }
    }
    if current.score_text != record.score_text {
        set_or_remove(code, "text", record.score_text.clone().map(Value::String));
    }
    drop_if_empty(obj, "code");
}

/// Files the observation under its new kind's category, and out of the old kind's.
fn patch_category(
    obj: &mut Map<String, Value>,
    old: Option<MeasurementKind>,
    new: Option<MeasurementKind>,
) {
    let new = new.map(MeasurementKind::codes);
    let list = array_mut(obj, "category");
    if let Some(old) = old.map(MeasurementKind::codes) {
        let stale =
            |c: &str| old.accepts_category(c) && !new.is_some_and(|n| n.accepts_category(c));
        list.retain(|cat| {
            let codings = items(cat, "coding");
            codings.is_empty()
                || !codings.iter().all(|c| {
                    str_of(c, "system") == Some(OBSERVATION_CATEGORY)
                        && str_of(c, "code").is_some_and(&stale)
                })
        });
    }
    if let Some(new) = new {
        let filed = list.iter().flat_map(|cat| items(cat, "coding")).any(|c| {
            str_of(c, "system") == Some(OBSERVATION_CATEGORY)
                && str_of(c, "code").is_some_and(|code| new.accepts_category(code))
        });
        if !filed {
            list.push(json!({"coding": [
                coding(OBSERVATION_CATEGORY, new.category, new.category_display)
            ]}));
        }
    }
    drop_if_empty(obj, "category");
}

/// Swaps a profile this module wrote for the one the record now needs; profiles claimed by
/// the client are left alone.
fn patch_profile(obj: &mut Map<String, Value>, profile: &str) {
    let Some(list) = obj
        .get_mut("meta")
        .and_then(|m| m.get_mut("profile"))
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    let ours = |v: &Value| v.as_str().is_some_and(|p| own_profiles().any(|o| o == p));
    if list.iter().any(ours) {
        list.retain(|v| !ours(v));
        list.push(json!(profile));
    }
}

fn patch_subject(obj: &mut Map<String, Value>, patient_id: Option<&str>) {
    match patient_id {
        Some(id) => {
            let reference = json!(format!("Patient/{id}"));
            match obj.get_mut("subject").and_then(Value::as_object_mut) {
                // A logical reference (VKP's national identity number) names the same
                // patient: keep it beside the literal one.
                Some(s) if !s.contains_key("reference") => {
                    s.insert("reference".into(), reference);
                }
                _ => {
                    obj.insert("subject".into(), json!({"reference": reference}));
                }
            }
        }
        None => {
            if let Some(s) = obj.get_mut("subject").and_then(Value::as_object_mut) {
                s.shift_remove("reference");
            }
            drop_if_empty(obj, "subject");
        }
    }
}

const EFFECTIVE: &[&str] = &[
    "effectiveDateTime",
    "effectivePeriod",
    "effectiveTiming",
    "effectiveInstant",
];

fn patch_effective(obj: &mut Map<String, Value>, start: Option<&str>, end: Option<&str>) {
    let keep = if end.is_some() || (start.is_some() && obj.contains_key("effectivePeriod")) {
        "effectivePeriod"
    } else if start.is_some() {
        "effectiveDateTime"
    } else {
        ""
    };
    for key in EFFECTIVE.iter().filter(|k| **k != keep) {
        obj.shift_remove(*key);
    }
    match keep {
        "effectivePeriod" => {
            let period = object_mut(obj.entry("effectivePeriod").or_insert_with(|| json!({})));
            set_or_remove(period, "start", start.map(|s| json!(s)));
            set_or_remove(period, "end", end.map(|s| json!(s)));
        }
        "effectiveDateTime" => {
            obj.insert("effectiveDateTime".into(), json!(start));
        }
        _ => {}
    }
}

fn patch_performer(obj: &mut Map<String, Value>, performer: Option<&str>) {
    let list = array_mut(obj, "performer");
    let first = list.iter().position(|p| str_of(p, "reference").is_some());
    match (performer, first) {
        // Another performer: what was said about the old one (display, type) is stale.
        (Some(r), Some(i)) => list[i] = json!({"reference": r}),
        (Some(r), None) => list.push(json!({"reference": r})),
        (None, _) => list.retain(|p| str_of(p, "reference").is_none()),
    }
    drop_if_empty(obj, "performer");
}

/// A reference that says only what kind of thing it points to.
fn is_type_only(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|o| o.len() == 1 && o.contains_key("type"))
}

fn patch_source(obj: &mut Map<String, Value>, record: &MeasurementRecord) {
    if read_source(&Value::Object(obj.clone())) == record.source {
        return;
    }
    // A device element without a reference the record knows of only speaks for the source.
    if record.device.is_none() && record.source != Some(MeasurementSource::Device) {
        obj.shift_remove("device");
    }
    if let Some(list) = obj.get_mut("performer").and_then(Value::as_array_mut) {
        list.retain(|p| !is_type_only(p));
    }
    match record.source {
        Some(MeasurementSource::Device) if !obj.contains_key("device") => {
            obj.insert("device".into(), json!({"type": "Device"}));
        }
        Some(MeasurementSource::Device) | None => {}
        Some(s) => {
            let ty = if s == MeasurementSource::Patient {
                "Patient"
            } else {
                "Practitioner"
            };
            array_mut(obj, "performer").insert(0, json!({"type": ty}));
        }
    }
    drop_if_empty(obj, "performer");
}

fn number(v: f64) -> Value {
    // Whole numbers without a trailing `.0`, as people and devices write them.
    if v.fract() == 0.0 && v.abs() < 1e15 {
        json!(v as i64)
    } else {
        Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}

fn data_absent_unknown() -> Value {
    json!({"coding": [coding(DATA_ABSENT_REASON_SYSTEM, "unknown", "Unknown")]})
}

fn remove_values(holder: &mut Map<String, Value>) {
    while let Some(k) = value_key(&Value::Object(holder.clone())).map(str::to_string) {
        holder.shift_remove(&k);
    }
}

/// Writes `value` and `unit` as `holder.valueQuantity`, changing only what differs. Without
/// either, a vital sign says why (`dataAbsentReason`), as the vital-signs profiles require.
fn patch_quantity(
    holder: &mut Map<String, Value>,
    value: Option<f64>,
    unit: Option<&str>,
    unit_display: impl Fn(&str) -> String,
    absent_reason: bool,
) {
    let (current_value, current_unit) = quantity_of(&Value::Object(holder.clone()));
    if value.is_none() && unit.is_none() {
        if current_value.is_some() || current_unit.is_some() {
            holder.shift_remove("valueQuantity");
        }
        if absent_reason
            && value_key(&Value::Object(holder.clone())).is_none()
            && !holder.contains_key("dataAbsentReason")
        {
            holder.insert("dataAbsentReason".into(), data_absent_unknown());
        }
        return;
    }
    if (current_value, current_unit.as_deref()) == (value, unit) {
        return;
    }
    let quantity = holder.shift_remove("valueQuantity");
    remove_values(holder);
    holder.shift_remove("dataAbsentReason");
    let mut quantity = quantity
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    let q = object_mut(&mut quantity);
    if current_value != value {
        set_or_remove(q, "value", value.map(number));
        // A comparator qualified the old value.
        q.shift_remove("comparator");
    }
    if current_unit.as_deref() != unit {
        match unit {
            Some(u) => {
                q.insert("unit".into(), json!(unit_display(u)));
                q.insert("system".into(), json!(UCUM));
                q.insert("code".into(), json!(u));
            }
            None => {
                for k in ["unit", "system", "code"] {
                    q.shift_remove(k);
                }
            }
        }
    }
    holder.insert("valueQuantity".into(), quantity);
}

fn patch_values(
    obj: &mut Map<String, Value>,
    current: &MeasurementRecord,
    record: &MeasurementRecord,
) {
    let kind = record.kind.map(MeasurementKind::codes);
    let display = |u: &str| kind.map_or_else(|| u.to_string(), |k| k.unit_display_for(u));
    if record.kind == Some(MeasurementKind::BloodPressure) {
        if current.kind != record.kind {
            remove_values(obj);
        }
        for (part, value) in [
            (codes::SYSTOLIC, record.value),
            (codes::DIASTOLIC, record.value2),
        ] {
            let index = component_index(&Value::Object(obj.clone()), &part);
            let list = array_mut(obj, "component");
            let i = index.unwrap_or_else(|| {
                list.push(json!({"code": {"coding": [
                    coding(LOINC, part.loinc, part.loinc_display),
                    coding(SNOMED, part.snomed, part.snomed_display),
                ]}}));
                list.len() - 1
            });
            // The unit is shared: a pressure that was not measured (beside one that was) has
            // none of its own, so that its dataAbsentReason can stay.
            let unmeasured = record.value.is_none() && record.value2.is_none();
            let unit = record
                .unit
                .as_deref()
                .filter(|_| value.is_some() || unmeasured);
            patch_quantity(object_mut(&mut list[i]), value, unit, display, true);
        }
    } else {
        if current.kind == Some(MeasurementKind::BloodPressure) {
            if let Some(list) = obj.get_mut("component").and_then(Value::as_array_mut) {
                list.retain(|c| {
                    !is_component(c, &codes::SYSTOLIC) && !is_component(c, &codes::DIASTOLIC)
                });
            }
            drop_if_empty(obj, "component");
        }
        let vital = kind.is_some_and(|k| k.category == "vital-signs");
        patch_quantity(obj, record.value, record.unit.as_deref(), display, vital);
    }
}

fn interpretation_coding(code: &str) -> Value {
    let display = match code {
        "N" => "Normal",
        "A" => "Abnormal",
        "AA" => "Critical abnormal",
        "H" => "High",
        "HH" => "Critical high",
        "L" => "Low",
        "LL" => "Critical low",
        _ => "",
    };
    coding(INTERPRETATION_SYSTEM, code, display)
}

fn patch_interpretation(obj: &mut Map<String, Value>, code: Option<&str>) {
    let list = array_mut(obj, "interpretation");
    let has_code = |i: &Value| {
        items(i, "coding")
            .iter()
            .any(|c| str_of(c, "code").is_some())
    };
    match code {
        Some(code) => {
            let entry = json!({"coding": [interpretation_coding(code)]});
            // The old entry's other codings and text described the old code.
            match list.iter().position(has_code) {
                Some(i) => list[i] = entry,
                None => list.insert(0, entry),
            }
        }
        None => {
            for entry in list.iter_mut() {
                if let Some(codings) = entry.get_mut("coding").and_then(Value::as_array_mut) {
                    codings.retain(|c| str_of(c, "code").is_none());
                }
                drop_if_empty(object_mut(entry), "coding");
            }
            list.retain(|i| i.as_object().is_some_and(|o| !o.is_empty()));
        }
    }
    drop_if_empty(obj, "interpretation");
}

fn patch_note(obj: &mut Map<String, Value>, note: Option<&str>) {
    match note {
        Some(text) => {
            let list = array_mut(obj, "note");
            match list.first_mut() {
                Some(first) => {
                    object_mut(first).insert("text".into(), json!(text));
                }
                None => list.push(json!({"text": text})),
            }
        }
        None => {
            obj.shift_remove("note");
        }
    }
}

/// Observation's elements in the order the specification lists them; choice elements go by
/// their prefix.
const ELEMENT_ORDER: &[&str] = &[
    "resourceType",
    "id",
    "meta",
    "implicitRules",
    "language",
    "text",
    "contained",
    "extension",
    "modifierExtension",
    "identifier",
    "basedOn",
    "partOf",
    "status",
    "category",
    "code",
    "subject",
    "focus",
    "encounter",
    "effective",
    "issued",
    "performer",
    "value",
    "dataAbsentReason",
    "interpretation",
    "note",
    "bodySite",
    "method",
    "specimen",
    "device",
    "referenceRange",
    "hasMember",
    "derivedFrom",
    "component",
];

fn element_rank(key: &str) -> usize {
    let name = key.strip_prefix('_').unwrap_or(key);
    ELEMENT_ORDER
        .iter()
        .position(|e| {
            name == *e
                || ((*e == "effective" || *e == "value")
                    && name
                        .strip_prefix(e)
                        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase())))
        })
        .unwrap_or(ELEMENT_ORDER.len())
}

/// Elements added by a patch land at the end of the object; put them where the
/// specification (and every FHIR serializer) has them. The sort is stable, so anything
/// unknown keeps its relative place.
fn order_elements(obj: &mut Map<String, Value>) {
    let mut entries: Vec<(String, Value)> = std::mem::take(obj).into_iter().collect();
    entries.sort_by_key(|(k, _)| element_rank(k));
    obj.extend(entries);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{extract, IndexEntry, IndexValue, QuantityValue};
    use helsebro_profiles::identifiers::FNR_SYSTEM;

    fn tenant() -> TenantContext {
        TenantContext {
            is_test: false,
            org_number: "974760673".into(),
            name: "Testkommune".into(),
        }
    }

    fn record(kind: MeasurementKind) -> MeasurementRecord {
        let codes = kind.codes();
        let score = kind == MeasurementKind::QuestionnaireScore;
        MeasurementRecord {
            patient_id: Some("p1".into()),
            kind: Some(kind),
            status: "final".into(),
            value: Some(if score { 14.0 } else { 72.5 }),
            value2: (kind == MeasurementKind::BloodPressure).then_some(81.0),
            unit: Some(codes.ucum[0].to_string()),
            score_code: score.then(|| (Some(LOINC.to_string()), "44261-6".to_string())),
            score_text: score.then(|| "PHQ-9".to_string()),
            effective_start: Some("2024-03-01T08:15:00+01:00".into()),
            effective_end: None,
            source: Some(MeasurementSource::Device),
            device: Some("Device/omron-1".into()),
            performer: Some("Practitioner/sykepleier-1".into()),
            interpretation: Some("N".into()),
            note: Some("Målt hjemme etter frokost".into()),
        }
    }

    /// A heart rate as a Norwegian remote-care platform sends it: VKP's logical subject
    /// beside the literal reference, a device, and a national identity number.
    fn heart_rate() -> Value {
        json!({
            "resourceType": "Observation",
            "meta": {"profile": [codes::VKP_HEARTRATE]},
            "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.2.9999", "value": "m-1"}],
            "status": "final",
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs"}]}],
            "code": {"coding": [
                {"system": LOINC, "code": "8867-4", "display": "Heart rate"},
                {"system": SNOMED, "code": "364075005", "display": "Heart Rate"}
            ], "text": "Puls"},
            "subject": {
                "reference": "Patient/p1",
                "identifier": {"system": FNR_SYSTEM, "value": "13116900216"},
                "display": "Line Danser"
            },
            "effectiveDateTime": "2024-03-01T08:15:00+01:00",
            "performer": [{"reference": "Patient/p1"}],
            "valueQuantity": {"value": 64, "unit": "slag/min", "system": UCUM, "code": "/min"},
            "note": [{"text": "Målt i hvile"}],
            "device": {"reference": "Device/pulsoksymeter-7", "display": "Nonin 3230"}
        })
    }

    /// A blood pressure after the VkpObservation-Bloodpressure example, with the Norwegian
    /// extension codes of no-domain VitalSigns on the components.
    fn blood_pressure() -> Value {
        json!({
            "resourceType": "Observation",
            "status": "final",
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs", "display": "Vital Signs"}]}],
            "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
            "subject": {"reference": "Patient/p1"},
            "effectivePeriod": {"start": "2024-03-01T08:00:00+01:00", "end": "2024-03-01T08:05:00+01:00"},
            "performer": [{"reference": "Practitioner/sykepleier-1"}],
            "bodySite": {"coding": [{"system": SNOMED, "code": "368209003", "display": "Right arm"}]},
            "component": [
                {"code": {"coding": [{"system": LOINC, "code": "8480-6"}, {"system": SNOMED, "code": "4471000202106"}]},
                 "valueQuantity": {"value": 132, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}},
                {"code": {"coding": [{"system": LOINC, "code": "8462-4"}, {"system": SNOMED, "code": "4481000202108"}]},
                 "valueQuantity": {"value": 84, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}},
                {"code": {"coding": [{"system": LOINC, "code": "8478-0"}]},
                 "valueQuantity": {"value": 100, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}}
            ]
        })
    }

    // R4 specification examples (hl7.fhir.r4.examples 4.0.1), narrative left out.
    const R4_BLOOD_PRESSURE: &str = r#"{"resourceType": "Observation", "id": "blood-pressure", "meta": {"profile": ["http://hl7.org/fhir/StructureDefinition/vitalsigns"]}, "identifier": [{"system": "urn:ietf:rfc:3986", "value": "urn:uuid:187e0c12-8dd2-67e2-99b2-bf273c878281"}], "basedOn": [{"identifier": {"system": "https://acme.org/identifiers", "value": "1234"}}], "status": "final", "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs", "display": "Vital Signs"}]}], "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9", "display": "Blood pressure panel with all children optional"}], "text": "Blood pressure systolic & diastolic"}, "subject": {"reference": "Patient/example"}, "effectiveDateTime": "2012-09-17", "performer": [{"reference": "Practitioner/example"}], "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "L", "display": "low"}], "text": "Below low normal"}], "bodySite": {"coding": [{"system": "http://snomed.info/sct", "code": "368209003", "display": "Right arm"}]}, "component": [{"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6", "display": "Systolic blood pressure"}, {"system": "http://snomed.info/sct", "code": "271649006", "display": "Systolic blood pressure"}, {"system": "http://acme.org/devices/clinical-codes", "code": "bp-s", "display": "Systolic Blood pressure"}]}, "valueQuantity": {"value": 107, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}, "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "N", "display": "normal"}], "text": "Normal"}]}, {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4", "display": "Diastolic blood pressure"}]}, "valueQuantity": {"value": 60, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}, "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "L", "display": "low"}], "text": "Below low normal"}]}]}"#;
    const R4_SAT_O2: &str = r#"{"resourceType": "Observation", "id": "satO2", "meta": {"profile": ["http://hl7.org/fhir/StructureDefinition/vitalsigns"]}, "identifier": [{"system": "http://goodcare.org/observation/id", "value": "o1223435-10"}], "partOf": [{"reference": "Procedure/ob"}], "status": "final", "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs", "display": "Vital Signs"}], "text": "Vital Signs"}], "code": {"coding": [{"system": "http://loinc.org", "code": "2708-6", "display": "Oxygen saturation in Arterial blood"}, {"system": "http://loinc.org", "code": "59408-5", "display": "Oxygen saturation in Arterial blood by Pulse oximetry"}, {"system": "urn:iso:std:iso:11073:10101", "code": "150456", "display": "MDC_PULS_OXIM_SAT_O2"}]}, "subject": {"reference": "Patient/example"}, "effectiveDateTime": "2014-12-05T09:30:10+01:00", "valueQuantity": {"value": 95, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}, "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "N", "display": "Normal"}], "text": "Normal (applies to non-numeric results)"}], "device": {"reference": "DeviceMetric/example"}, "referenceRange": [{"low": {"value": 90, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}, "high": {"value": 99, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}}]}"#;
    const R4_GLUCOSE_F001: &str = r#"{"resourceType": "Observation", "id": "f001", "identifier": [{"use": "official", "system": "http://www.bmc.nl/zorgportal/identifiers/observations", "value": "6323"}], "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "15074-8", "display": "Glucose [Moles/volume] in Blood"}]}, "subject": {"reference": "Patient/f001", "display": "P. van de Heuvel"}, "effectivePeriod": {"start": "2013-04-02T09:30:10+01:00"}, "issued": "2013-04-03T15:30:10+01:00", "performer": [{"reference": "Practitioner/f005", "display": "A. Langeveld"}], "valueQuantity": {"value": 6.3, "unit": "mmol/l", "system": "http://unitsofmeasure.org", "code": "mmol/L"}, "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "H", "display": "High"}]}], "referenceRange": [{"low": {"value": 3.1, "unit": "mmol/l", "system": "http://unitsofmeasure.org", "code": "mmol/L"}, "high": {"value": 6.2, "unit": "mmol/l", "system": "http://unitsofmeasure.org", "code": "mmol/L"}}]}"#;
    const R4_GENETICS_1: &str = r#"{"resourceType": "Observation", "id": "example-genetics-1", "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/observation-geneticsGene", "valueCodeableConcept": {"coding": [{"system": "http://www.genenames.org", "code": "3236", "display": "EGFR"}]}}, {"url": "http://hl7.org/fhir/StructureDefinition/observation-geneticsDNARegionName", "valueString": "Exon 21"}, {"url": "http://hl7.org/fhir/StructureDefinition/observation-geneticsGenomicSourceClass", "valueCodeableConcept": {"coding": [{"system": "http://loinc.org", "code": "LA6684-0", "display": "somatic"}]}}], "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "55233-1", "display": "Genetic analysis master panel-- This is the parent OBR for the panel holding all of the associated observations that can be reported with a molecular genetics analysis result."}]}, "subject": {"reference": "Patient/example", "display": "Molecular Lab Patient ID: HOSP-23456"}, "issued": "2013-04-03T15:30:10+01:00", "performer": [{"reference": "Practitioner/example", "display": "Molecular Diagnostics Laboratory"}], "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "10828004", "display": "Positive"}]}, "specimen": {"reference": "Specimen/genetics-example1-somatic", "display": "Molecular Specimen ID: MLD45-Z4-1234"}}"#;
    const R4_APGAR_1MIN: &str = r##"{"resourceType": "Observation", "id": "1minute-apgar-score", "contained": [{"resourceType": "Patient", "id": "newborn", "identifier": [{"system": "http://acmehealthcare/org/mrns", "value": "12345"}], "active": true, "name": [{"family": "Chalmers", "given": ["Peter", "James"]}], "gender": "male", "birthDate": "2016-05-18", "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime": "2016-05-18T10:28:45Z"}]}}], "status": "final", "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey", "display": "Survey"}], "text": "Survey"}], "code": {"coding": [{"system": "http://loinc.org", "code": "9272-6", "display": "1 minute Apgar Score"}, {"system": "http://snomed.info/sct", "code": "169895004", "display": "Apgar at 1 minute"}], "text": "1 minute Apgar Score"}, "subject": {"reference": "#newborn"}, "effectiveDateTime": "2016-05-18T22:33:22Z", "performer": [{"reference": "Practitioner/example"}], "valueQuantity": {"value": 0, "system": "http://unitsofmeasure.org", "code": "{score}"}, "component": [{"code": {"coding": [{"system": "http://loinc.org", "code": "32406-1", "display": "1 minute Apgar Color"}, {"system": "http://snomed.info/sct", "code": "249227004", "display": "Apgar color score"}], "text": "Apgar color score"}, "valueCodeableConcept": {"coding": [{"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": 0}], "system": "http://loinc.org", "code": "LA6722-8", "display": "The baby's whole body is completely bluish-gray or pale"}, {"system": "http://acme.ped/apgarcolor", "code": "0"}], "text": "0. The baby's whole body is completely bluish-gray or pale"}}, {"code": {"coding": [{"system": "http://loinc.org", "code": "32407-9", "display": "1 minute Apgar Heart Rate"}, {"system": "http://snomed.info/sct", "code": "249223000", "display": "Apgar heart rate score"}], "text": "Apgar respiratory effort score"}, "valueCodeableConcept": {"coding": [{"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": 0}], "system": "http://loinc.org", "code": "LA6716-0", "display": "No heart rate"}, {"system": "http://acme.ped/apgarheartrate", "code": "0"}], "text": "0. No heart rate"}}, {"code": {"coding": [{"system": "http://loinc.org", "code": "32409-5", "display": "1 minute Apgar Reflex Irritability"}, {"system": "http://snomed.info/sct", "code": "249226008", "display": "Apgar response to stimulus score"}], "text": "Apgar response to stimulus score"}, "valueCodeableConcept": {"coding": [{"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": 0}], "system": "http://loinc.org", "code": "LA6719-4", "display": "No response to airways being suctioned"}, {"system": "http://acme.ped/apgarreflexirritability", "code": "0"}], "text": "0. No response to airways being suctioned"}}, {"code": {"coding": [{"system": "http://loinc.org", "code": "32408-7", "display": "1 minute Apgar Muscle Tone"}, {"system": "http://snomed.info/sct", "code": "249225007", "display": "Apgar muscle tone score"}], "text": "Apgar muscle tone score"}, "valueCodeableConcept": {"coding": [{"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": 0}], "system": "http://loinc.org", "code": "LA6713-7", "display": "Limp; no movement"}, {"system": "http://acme.ped/apgarmuscletone", "code": "0"}], "text": "0. Limp; no movement"}}, {"code": {"coding": [{"system": "http://loinc.org", "code": "32410-3", "display": "1 minute Apgar Respiratory effort"}, {"system": "http://snomed.info/sct", "code": "249224006", "display": "Apgar respiratory effort score"}], "text": "Apgar respiratory effort score"}, "valueCodeableConcept": {"coding": [{"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": 0}], "system": "http://loinc.org", "code": "LA6725-1", "display": "Not breathing"}, {"system": "http://acme.ped/apgarrespiratoryeffort", "code": "0"}], "text": "0. Not breathing"}}]}"##;

    fn r4_examples() -> Vec<Value> {
        [
            R4_BLOOD_PRESSURE,
            R4_SAT_O2,
            R4_GLUCOSE_F001,
            R4_GENETICS_1,
            R4_APGAR_1MIN,
        ]
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .collect()
    }

    fn realistic_inputs() -> Vec<Value> {
        let mut all = vec![heart_rate(), blood_pressure()];
        all.extend(r4_examples());
        all
    }

    fn map(resource: &Value) -> MeasurementRecord {
        observation_from_fhir(resource, &tenant())
            .unwrap_or_else(|e| panic!("{e}\nin {resource:#}"))
    }

    fn expressions(resource: &Value) -> Vec<String> {
        observation_from_fhir(resource, &tenant())
            .unwrap_err()
            .issues
            .into_iter()
            .map(|i| i.expression)
            .collect()
    }

    #[test]
    fn reads_every_modeled_field() {
        let r = map(&heart_rate());
        assert_eq!(
            r,
            MeasurementRecord {
                patient_id: Some("p1".into()),
                kind: Some(MeasurementKind::HeartRate),
                status: "final".into(),
                value: Some(64.0),
                value2: None,
                unit: Some("/min".into()),
                score_code: None,
                score_text: Some("Puls".into()),
                effective_start: Some("2024-03-01T08:15:00+01:00".into()),
                effective_end: None,
                source: Some(MeasurementSource::Device),
                device: Some("Device/pulsoksymeter-7".into()),
                performer: Some("Patient/p1".into()),
                interpretation: None,
                note: Some("Målt i hvile".into()),
            }
        );
        let bp = map(&blood_pressure());
        assert_eq!(bp.kind, Some(MeasurementKind::BloodPressure));
        assert_eq!((bp.value, bp.value2), (Some(132.0), Some(84.0)));
        assert_eq!(bp.unit.as_deref(), Some("mm[Hg]"));
        assert_eq!(
            bp.effective_end.as_deref(),
            Some("2024-03-01T08:05:00+01:00")
        );
        assert_eq!(bp.source, Some(MeasurementSource::Clinician));
    }

    #[test]
    fn a_record_of_every_kind_survives_a_fresh_resource() {
        let mut records: Vec<_> = MeasurementKind::ALL.into_iter().map(record).collect();
        records.push(MeasurementRecord {
            kind: None,
            score_code: Some((Some(LOINC.into()), "8302-2".into())),
            unit: Some("cm".into()),
            value: Some(171.0),
            source: Some(MeasurementSource::Patient),
            performer: None,
            device: None,
            effective_end: Some("2024-03-02".into()),
            ..record(MeasurementKind::BodyWeight)
        });
        records.push(MeasurementRecord {
            status: "cancelled".into(),
            value: None,
            value2: None,
            unit: None,
            source: None,
            device: None,
            performer: None,
            interpretation: None,
            note: None,
            ..record(MeasurementKind::BloodPressure)
        });
        for r in records {
            let fresh = observation_to_fhir(&r, None, &tenant());
            assert_eq!(map(&fresh), r, "{fresh:#}");
            assert_eq!(observation_to_fhir(&r, Some(&fresh), &tenant()), fresh);
        }
    }

    #[test]
    fn a_fresh_resource_is_a_vkp_observation() {
        let o = observation_to_fhir(&record(MeasurementKind::OxygenSaturation), None, &tenant());
        assert_eq!(
            o,
            json!({
                "resourceType": "Observation",
                "meta": {"profile": [codes::VKP_OXYGENSAT]},
                "status": "final",
                "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs", "display": "Vital Signs"}]}],
                "code": {"coding": [
                    {"system": LOINC, "code": "59408-5", "display": "Oxygen saturation in Arterial blood by Pulse oximetry"},
                    {"system": LOINC, "code": "2708-6", "display": "Oxygen saturation in Arterial blood"},
                    {"system": SNOMED, "code": "431314004", "display": "Peripheral oxygen saturation (observable entity)"}
                ]},
                "subject": {"reference": "Patient/p1"},
                "effectiveDateTime": "2024-03-01T08:15:00+01:00",
                "performer": [{"reference": "Practitioner/sykepleier-1"}],
                "valueQuantity": {"value": 72.5, "unit": "%", "system": UCUM, "code": "%"},
                "interpretation": [{"coding": [{"system": INTERPRETATION_SYSTEM, "code": "N", "display": "Normal"}]}],
                "note": [{"text": "Målt hjemme etter frokost"}],
                "device": {"reference": "Device/omron-1"}
            })
        );
        let keys: Vec<_> = o.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys[..4], ["resourceType", "meta", "status", "category"]);
        assert_eq!(keys.last().unwrap(), "device");

        let bp = observation_to_fhir(&record(MeasurementKind::BloodPressure), None, &tenant());
        assert_eq!(bp["meta"]["profile"][0], codes::VKP_BLOODPRESSURE);
        assert!(bp.get("valueQuantity").is_none());
        assert_eq!(bp["component"][0]["code"]["coding"][0]["code"], "8480-6");
        assert_eq!(bp["component"][0]["code"]["coding"][1]["code"], "271649006");
        assert_eq!(bp["component"][1]["code"]["coding"][0]["code"], "8462-4");
        assert_eq!(bp["component"][1]["valueQuantity"]["value"], json!(81));
        assert_eq!(bp["component"][1]["valueQuantity"]["code"], "mm[Hg]");

        let score = observation_to_fhir(
            &record(MeasurementKind::QuestionnaireScore),
            None,
            &tenant(),
        );
        assert_eq!(score["category"][0]["coding"][0]["code"], "survey");
        assert_eq!(
            score["code"],
            json!({"coding": [{"system": LOINC, "code": "44261-6"}], "text": "PHQ-9"})
        );
        assert_eq!(score["valueQuantity"]["code"], "{score}");

        let mut cfs = record(MeasurementKind::QuestionnaireScore);
        cfs.score_code = Some((Some(SNOMED.into()), "763264000".into()));
        let cfs = observation_to_fhir(&cfs, None, &tenant());
        assert_eq!(cfs["meta"]["profile"][0], codes::VKP_CFS_SCORE);
    }

    #[test]
    fn a_vital_sign_without_a_value_says_why() {
        let r = MeasurementRecord {
            value: None,
            unit: None,
            ..record(MeasurementKind::HeartRate)
        };
        let o = observation_to_fhir(&r, None, &tenant());
        assert!(o.get("valueQuantity").is_none());
        assert_eq!(o["dataAbsentReason"]["coding"][0]["code"], "unknown");
        let mut again = r.clone();
        again.value = Some(70.0);
        again.unit = Some("/min".into());
        let o = observation_to_fhir(&again, Some(&o), &tenant());
        assert!(o.get("dataAbsentReason").is_none());
        assert_eq!(map(&o), again);
    }

    #[test]
    fn unchanged_record_gives_back_the_resource_as_written() {
        for written in realistic_inputs() {
            let record = map(&written);
            assert_eq!(
                observation_to_fhir(&record, Some(&written), &tenant()),
                written
            );
        }
    }

    #[test]
    fn spec_examples_map_to_the_expected_kinds() {
        let kinds: Vec<_> = r4_examples().iter().map(|o| map(o).kind).collect();
        assert_eq!(
            kinds,
            [
                Some(MeasurementKind::BloodPressure),
                Some(MeasurementKind::OxygenSaturation),
                Some(MeasurementKind::BloodGlucose),
                None,
                Some(MeasurementKind::QuestionnaireScore),
            ]
        );
        let apgar = map(&r4_examples()[4]);
        assert_eq!(
            apgar.score_code,
            Some((Some(LOINC.into()), "9272-6".into()))
        );
        assert_eq!(apgar.score_text.as_deref(), Some("1 minute Apgar Score"));
        assert_eq!(apgar.value, Some(0.0));
        // `#newborn` is a contained patient, not one the platform knows.
        assert_eq!(apgar.patient_id, None);
        let genetics = map(&r4_examples()[3]);
        assert_eq!(
            genetics.score_code,
            Some((Some(LOINC.into()), "55233-1".into()))
        );
        assert_eq!(genetics.value, None);
    }

    #[test]
    fn a_changed_record_patches_only_its_fields() {
        let written = heart_rate();
        let mut r = map(&written);
        r.value = Some(71.0);
        r.note = Some("Målt etter trapp".into());
        r.interpretation = Some("H".into());
        let out = observation_to_fhir(&r, Some(&written), &tenant());
        assert_eq!(
            out["valueQuantity"],
            json!({"value": 71, "unit": "slag/min", "system": UCUM, "code": "/min"})
        );
        assert_eq!(out["note"], json!([{"text": "Målt etter trapp"}]));
        assert_eq!(
            out["interpretation"],
            json!([{"coding": [{"system": INTERPRETATION_SYSTEM, "code": "H", "display": "High"}]}])
        );
        let mut rest = out.clone();
        for key in ["valueQuantity", "note", "interpretation"] {
            rest.as_object_mut().unwrap().shift_remove(key);
        }
        let mut before = written.clone();
        for key in ["valueQuantity", "note"] {
            before.as_object_mut().unwrap().shift_remove(key);
        }
        assert_eq!(rest, before);
        assert_eq!(map(&out), r);

        // A new patient replaces the reference and what was said about the old patient.
        let mut moved = map(&written);
        moved.patient_id = Some("p2".into());
        let out = observation_to_fhir(&moved, Some(&written), &tenant());
        assert_eq!(out["subject"], json!({"reference": "Patient/p2"}));
        assert_eq!(out["code"], written["code"]);

        // Systolic only: the diastolic component and the mean pressure stay as written.
        let bp = blood_pressure();
        let mut r = map(&bp);
        r.value = Some(128.0);
        let out = observation_to_fhir(&r, Some(&bp), &tenant());
        assert_eq!(out["component"][0]["valueQuantity"]["value"], json!(128));
        assert_eq!(out["component"][0]["code"], bp["component"][0]["code"]);
        assert_eq!(out["component"][1], bp["component"][1]);
        assert_eq!(out["component"][2], bp["component"][2]);
        assert_eq!(map(&out), r);
    }

    #[test]
    fn decimals_keep_their_value() {
        let written: Value = serde_json::from_str(R4_GLUCOSE_F001).unwrap();
        let mut r = map(&written);
        assert_eq!(r.value, Some(6.3));
        r.value = Some(5.85);
        let out = observation_to_fhir(&r, Some(&written), &tenant());
        assert_eq!(out["valueQuantity"]["value"].to_string(), "5.85");
        assert_eq!(map(&out), r);
    }

    type Change = fn(&mut MeasurementRecord);

    /// Changes a platform makes to a record: each field on its own, and changes of kind.
    fn changes() -> Vec<(&'static str, Change)> {
        vec![
            ("status", |r| r.status = "amended".into()),
            ("patient", |r| r.patient_id = Some("p9".into())),
            ("no patient", |r| r.patient_id = None),
            ("value", |r| r.value = Some(42.25)),
            ("no value", |r| {
                r.value = None;
                r.value2 = None;
            }),
            ("unit", |r| {
                if r.kind.is_some_and(MeasurementKind::has_fixed_code) {
                    r.unit = r.kind.unwrap().codes().ucum.last().map(|u| u.to_string());
                } else {
                    r.unit = Some("1".into());
                }
            }),
            ("start", |r| r.effective_start = Some("2025-01-02".into())),
            ("period", |r| {
                r.effective_start = Some("2025-01-02T10:00:00Z".into());
                r.effective_end = Some("2025-01-02T11:00:00Z".into());
            }),
            ("no time", |r| {
                r.effective_start = None;
                r.effective_end = None;
            }),
            ("device", |r| {
                r.device = Some("Device/d2".into());
                r.source = Some(MeasurementSource::Device);
            }),
            ("no device", |r| {
                r.device = None;
                r.source = None;
                r.performer = None;
            }),
            ("performer", |r| {
                r.performer = Some("RelatedPerson/datter".into());
                if r.device.is_none() {
                    r.source = Some(MeasurementSource::Patient);
                }
            }),
            ("self-measured", |r| {
                r.device = None;
                r.source = Some(MeasurementSource::Patient);
            }),
            ("device source", |r| {
                r.source = Some(MeasurementSource::Device)
            }),
            ("interpretation", |r| r.interpretation = Some("LL".into())),
            ("no interpretation", |r| r.interpretation = None),
            ("note", |r| r.note = Some("Ny merknad".into())),
            ("no note", |r| r.note = None),
            ("text", |r| r.score_text = Some("Egen tekst".into())),
            ("heart rate", |r| {
                r.kind = Some(MeasurementKind::HeartRate);
                r.value = Some(60.0);
                r.value2 = None;
                r.unit = Some("/min".into());
                r.score_code = None;
            }),
            ("blood pressure", |r| {
                r.kind = Some(MeasurementKind::BloodPressure);
                r.value = Some(120.0);
                r.value2 = Some(80.0);
                r.unit = Some("mm[Hg]".into());
                r.score_code = None;
            }),
            ("score", |r| {
                r.kind = Some(MeasurementKind::QuestionnaireScore);
                r.value = Some(3.0);
                r.value2 = None;
                r.unit = Some("{score}".into());
                r.score_code = Some((Some(SNOMED.into()), "1104051000000101".into()));
            }),
        ]
    }

    /// Every change on every base: the result reads back as the changed record, and the
    /// elements the record does not hold stay as written.
    #[test]
    fn patches_read_back_as_the_record() {
        let changes = changes();
        for base in realistic_inputs() {
            let original = map(&base);
            for (name, change) in &changes {
                let mut r = original.clone();
                change(&mut r);
                let out = observation_to_fhir(&r, Some(&base), &tenant());
                let back = observation_from_fhir(&out, &tenant())
                    .unwrap_or_else(|e| panic!("{name}: {e}\n{out:#}"));
                assert_eq!(back, r, "{name} on {base}\n→ {out:#}");
                for key in [
                    "identifier",
                    "extension",
                    "contained",
                    "specimen",
                    "referenceRange",
                    "bodySite",
                    "issued",
                ] {
                    assert_eq!(out.get(key), base.get(key), "{name} changed {key}");
                }
            }
        }
    }

    #[test]
    fn a_source_the_references_do_not_say_is_written_as_a_type() {
        let mut r = record(MeasurementKind::BodyWeight);
        r.device = None;
        r.performer = None;
        r.source = Some(MeasurementSource::Patient);
        let o = observation_to_fhir(&r, None, &tenant());
        assert_eq!(o["performer"], json!([{"type": "Patient"}]));
        assert!(o.get("device").is_none());
        assert_eq!(map(&o), r);
        r.source = Some(MeasurementSource::Device);
        let o = observation_to_fhir(&r, Some(&o), &tenant());
        assert_eq!(o["device"], json!({"type": "Device"}));
        assert!(o.get("performer").is_none());
        assert_eq!(map(&o), r);
    }

    #[test]
    fn units_must_be_the_kinds_ucum_codes() {
        let mut o = heart_rate();
        o["valueQuantity"] = json!({"value": 64, "unit": "bpm", "system": "urn:x", "code": "bpm"});
        assert_eq!(
            expressions(&o),
            [
                "Observation.valueQuantity.system",
                "Observation.valueQuantity.code"
            ]
        );
        o["valueQuantity"] = json!({"value": 64, "unit": "/min"});
        let err = observation_from_fhir(&o, &tenant()).unwrap_err();
        assert_eq!(err.issues.len(), 2);
        assert!(err.issues[1].message.contains("/min"), "{err}");

        let mut w = heart_rate();
        w["code"] = json!({"coding": [{"system": LOINC, "code": "29463-7"}]});
        w["valueQuantity"] = json!({"value": 80, "system": UCUM, "code": "/min"});
        let err = observation_from_fhir(&w, &tenant()).unwrap_err();
        assert_eq!(err.issues[0].expression, "Observation.valueQuantity.code");
        assert!(
            err.issues[0].message.contains("kg, g, [lb_av]"),
            "{}",
            err.issues[0].message
        );
        w["valueQuantity"] = json!({"value": 176, "system": UCUM, "code": "[lb_av]"});
        assert_eq!(map(&w).unit.as_deref(), Some("[lb_av]"));
    }

    #[test]
    fn a_quantity_kind_is_sent_as_a_quantity() {
        let mut o = heart_rate();
        o.as_object_mut().unwrap().shift_remove("valueQuantity");
        o["valueString"] = json!("64 slag/min");
        assert_eq!(expressions(&o), ["Observation.valueString"]);
    }

    #[test]
    fn blood_pressure_needs_both_pressures_in_mm_hg() {
        let mut bp = blood_pressure();
        bp["component"].as_array_mut().unwrap().remove(1);
        bp["component"][0]["valueQuantity"]["code"] = json!("kPa");
        assert_eq!(
            expressions(&bp),
            [
                "Observation.component[0].valueQuantity.code",
                "Observation.component"
            ]
        );
        let mut bp = blood_pressure();
        bp["component"][1]
            .as_object_mut()
            .unwrap()
            .shift_remove("valueQuantity");
        assert_eq!(expressions(&bp), ["Observation.component[1]"]);
        bp["component"][1]["dataAbsentReason"] = data_absent_unknown();
        let r = map(&bp);
        assert_eq!((r.value, r.value2), (Some(132.0), None));
        assert_eq!(observation_to_fhir(&r, Some(&bp), &tenant()), bp);
    }

    #[test]
    fn status_category_and_national_ids_are_checked() {
        let mut o = heart_rate();
        o["status"] = json!("done");
        o["category"] =
            json!([{"coding": [{"system": OBSERVATION_CATEGORY, "code": "laboratory"}]}]);
        o["subject"]["identifier"]["value"] = json!("13116900217");
        o["performer"] =
            json!([{"identifier": {"system": identifiers::ORGNR_SYSTEM, "value": "974760674"}}]);
        assert_eq!(
            expressions(&o),
            [
                "Observation.status",
                "Observation.category",
                "Observation.subject.identifier.value",
                "Observation.performer[0].identifier.value"
            ]
        );
        let mut missing = heart_rate();
        missing.as_object_mut().unwrap().shift_remove("status");
        assert_eq!(expressions(&missing), ["Observation.status"]);
        // Glucose is filed as a vital sign by VKP and as a laboratory result elsewhere.
        let mut g: Value = serde_json::from_str(R4_GLUCOSE_F001).unwrap();
        g["category"] =
            json!([{"coding": [{"system": OBSERVATION_CATEGORY, "code": "laboratory"}]}]);
        assert_eq!(map(&g).kind, Some(MeasurementKind::BloodGlucose));
    }

    #[test]
    fn unknown_codes_are_observations_the_platform_does_not_model() {
        let o = json!({
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "urn:example", "code": "x"}]},
            "valueString": "anything"
        });
        let r = map(&o);
        assert_eq!(r.kind, None);
        assert_eq!(r.score_code, Some((Some("urn:example".into()), "x".into())));
        assert_eq!(observation_to_fhir(&r, Some(&o), &tenant()), o);
    }

    #[test]
    fn search_parameters_extract_from_an_observation() {
        let mut o = blood_pressure();
        o["device"] = json!({"reference": "Device/omron-1"});
        let entries = extract(&o, SEARCH_PARAMS);
        let of = |param: &str| -> Vec<&IndexValue> {
            entries
                .iter()
                .filter(|e| e.param == param)
                .map(|e| &e.value)
                .collect()
        };
        let tok = |system: &str, code: &str| IndexValue::Token {
            system: Some(system.into()),
            code: code.into(),
        };
        let reference = |t: &str, id: &str| IndexValue::Reference {
            target_type: Some(t.into()),
            target_id: Some(id.into()),
            url: None,
        };
        let mm_hg = |value: f64| QuantityValue {
            value,
            system: Some(UCUM.into()),
            code: Some("mm[Hg]".into()),
            unit: Some("mmHg".into()),
        };
        assert_eq!(of("patient"), [&reference("Patient", "p1")]);
        assert_eq!(of("subject"), [&reference("Patient", "p1")]);
        assert_eq!(of("code"), [&tok(LOINC, "85354-9")]);
        let category_text = IndexValue::String {
            normalized: "vital signs".into(),
            exact: "Vital Signs".into(),
        };
        assert_eq!(
            of("category"),
            [&tok(OBSERVATION_CATEGORY, "vital-signs"), &category_text]
        );
        assert_eq!(
            of("status"),
            [&IndexValue::Token {
                system: None,
                code: "final".into()
            }]
        );
        assert_eq!(of("date").len(), 1);
        assert!(of("value-quantity").is_empty());
        assert_eq!(
            of("component-code"),
            [
                &tok(LOINC, "8480-6"),
                &tok(SNOMED, "4471000202106"),
                &tok(LOINC, "8462-4"),
                &tok(SNOMED, "4481000202108"),
                &tok(LOINC, "8478-0"),
            ]
        );
        assert_eq!(of("combo-code").len(), 6);
        assert_eq!(
            of("code-value-quantity")[0],
            &IndexValue::TokenQuantity {
                system: Some(LOINC.into()),
                code: "8480-6".into(),
                quantity: mm_hg(132.0),
            }
        );
        assert_eq!(of("code-value-quantity").len(), 5);
        assert_eq!(of("device"), [&reference("Device", "omron-1")]);
        assert_eq!(
            of("performer"),
            [&reference("Practitioner", "sykepleier-1")]
        );

        let hr = extract(&heart_rate(), SEARCH_PARAMS);
        assert!(hr.contains(&IndexEntry {
            param: "value-quantity",
            value: IndexValue::Quantity(QuantityValue {
                value: 64.0,
                system: Some(UCUM.into()),
                code: Some("/min".into()),
                unit: Some("slag/min".into()),
            }),
        }));
        for def in SEARCH_PARAMS {
            assert!(def
                .definition
                .starts_with("http://hl7.org/fhir/SearchParameter/"));
            assert_eq!(
                def.kind == ParamKind::Reference,
                !def.targets.is_empty(),
                "{}",
                def.name
            );
        }
    }
}
