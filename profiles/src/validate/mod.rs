//! Profile validation, driven by the snapshots of the StructureDefinitions we carry: the R4
//! core ones of the served types (`data/r4-core`), no-basis 2.2.0, the VKP blood pressure
//! profile and our own Communication profile.
//!
//! [`validate`] runs the R4 core structure check ([`crate::structure::check_resource`]), then
//! walks the instance along the core definitions ([`instance`]): the FHIRPath invariants of
//! every element instance and data type ([`invariants`]; the keys not evaluated through
//! FHIRPath are in [`NOT_EVALUATED`], those the evaluator cannot judge in [`NOT_JUDGED`]), required bindings to the ValueSets we carry ([`terminology`]),
//! extensions against their definitions and contexts ([`extensions`]), and nested resources
//! (`contained`, `Bundle.entry.resource`) with their own `meta.profile`. Then it walks each
//! profile's snapshot ([`walk`]): cardinality of elements whose parent is present, choice types
//! allowed, `fixed[x]` (exact) and `pattern[x]` (contained) values, slicing with
//! `value`/`pattern`/`profile` discriminators (and `type` on choice elements), closed slicing,
//! required bindings and the profile's own invariants.
//!
//! Not checked: bindings to ValueSets we do not carry (they are skipped, whatever their
//! strength), `exists` discriminators, slice order, and snapshots the VKP Observation profiles
//! other than blood pressure do not ship.

#[cfg(test)]
mod acceptance;
mod core;
mod extensions;
mod instance;
mod invariants;
mod model;
mod narrative;
mod snapshot;
mod terminology;
mod walk;

use serde_json::Value;

use crate::structure::{self, IssueKind};
use model::{strip_version, PROFILES};

pub use invariants::{NOT_EVALUATED, NOT_JUDGED};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    Information,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub severity: Severity,
    /// OperationOutcome issue type: `structure`, `required`, `value`, `invariant`,
    /// `code-invalid`, `extension` or `not-supported`.
    pub code: &'static str,
    /// FHIRPath-style element path with indexes, e.g. `Patient.identifier[0].system`.
    pub expression: String,
    pub message: String,
}

/// The canonical URLs of the profiles we carry (resource and data type profiles).
/// The vendored R4 core StructureDefinitions (JSON), for other readers of the core model.
pub fn core_sources() -> &'static [&'static str] {
    core::SOURCES
}

pub fn known_profiles() -> Vec<&'static str> {
    let profiles: &'static _ = &*PROFILES;
    profiles.keys().map(String::as_str).collect()
}

fn from_structure(i: structure::StructureIssue) -> Issue {
    Issue {
        severity: match i.severity {
            structure::Severity::Error => Severity::Error,
            structure::Severity::Warning => Severity::Warning,
        },
        code: match i.kind {
            IssueKind::Structure => "structure",
            IssueKind::Required => "required",
            IssueKind::Value => "value",
            IssueKind::Invalid => "invariant",
        },
        expression: i.expression,
        message: i.message,
    }
}

/// Validates a resource against R4 core and against `profile` when given, else against every
/// profile in `meta.profile` that we carry. An unknown profile is a warning when it comes from
/// `meta.profile` and an error when it is the one asked for. Nested resources are validated
/// against R4 core and their own `meta.profile`.
pub fn validate(resource: &Value, profile: Option<&str>) -> Vec<Issue> {
    let mut out: Vec<Issue> = structure::check_resource(resource)
        .into_iter()
        .map(from_structure)
        .collect();
    let Some(obj) = resource.as_object() else {
        return out;
    };
    let type_name = obj
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("Resource");
    let core = out.len();
    let mut found = instance::walk(resource, type_name);
    check_profiles(resource, profile, type_name, &mut found);
    for issue in found {
        // A minimum or a binding already reported (the structure check reports core minimums,
        // profiles repeat core's bindings, a slice its base element's), or the same finding
        // twice.
        let repeated = issue.code == "code-invalid"
            && out
                .iter()
                .any(|c| c.code == issue.code && c.expression == issue.expression);
        let core_dup = issue.code == "required"
            && out[..core]
                .iter()
                .any(|c| c.code == "required" && c.expression == issue.expression);
        if !repeated && !core_dup && !out.contains(&issue) {
            out.push(issue);
        }
    }
    out
}

/// Checks the resource at `path` against `profile`, or else the carried profiles of its
/// `meta.profile`.
fn check_profiles(resource: &Value, profile: Option<&str>, path: &str, out: &mut Vec<Issue>) {
    let Some(obj) = resource.as_object() else {
        return;
    };
    let type_name = obj
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("Resource");
    let mut targets = Vec::new();
    match profile {
        Some(url) => match PROFILES.get(strip_version(url)) {
            Some(p) => targets.push(p),
            None => out.push(Issue {
                severity: Severity::Error,
                code: "not-supported",
                expression: path.to_string(),
                message: format!(
                    "profile '{url}' is not known to this server; known profiles: {}",
                    known_profiles().join(", ")
                ),
            }),
        },
        None => {
            let claimed = obj
                .get("meta")
                .and_then(|m| m.get("profile"))
                .and_then(Value::as_array);
            for (i, url) in claimed.into_iter().flatten().enumerate() {
                let Some(url) = url.as_str() else { continue };
                match PROFILES.get(strip_version(url)) {
                    Some(p) => targets.push(p),
                    None => out.push(Issue {
                        severity: Severity::Warning,
                        code: "not-supported",
                        expression: format!("{path}.meta.profile[{i}]"),
                        message: format!(
                            "profile '{url}' is not known to this server; not checked against it"
                        ),
                    }),
                }
            }
        }
    }
    for p in targets {
        if p.type_name != type_name {
            out.push(Issue {
                severity: Severity::Error,
                code: "structure",
                expression: path.to_string(),
                message: format!(
                    "profile {} constrains {}, not {type_name}",
                    p.name, p.type_name
                ),
            });
            continue;
        }
        let mut walker = walk::Walker::new(&p.name, resource);
        walker.invariants(&p.root, resource, path);
        walker.object(&p.root, obj, path);
        for issue in walker.out {
            if !out.contains(&issue) {
                out.push(issue);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    const PATIENT: &str = "http://hl7.no/fhir/StructureDefinition/no-basis-Patient";
    const MEDICATION: &str = "http://hl7.no/fhir/StructureDefinition/no-basis-Medication";
    const MEDICATION_STATEMENT: &str =
        "http://hl7.no/fhir/StructureDefinition/no-basis-MedicationStatement";
    const COMPOSITION: &str = "http://hl7.no/fhir/StructureDefinition/no-basis-Composition";
    const BLOOD_PRESSURE: &str =
        "http://ehelse.no/fhir/StructureDefinition/vkp-Observation-Bloodpressure-v090";

    fn errors(issues: &[Issue]) -> Vec<&Issue> {
        issues
            .iter()
            .filter(|i| i.severity == Severity::Error)
            .collect()
    }

    pub(super) fn patient() -> Value {
        json!({
            "resourceType": "Patient",
            "id": "p1",
            "meta": {"profile": [PATIENT]},
            "identifier": [
                {"use": "official", "system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": "13031353453"},
                {"system": "urn:oid:2.16.578.1.12.4.1.4.2", "value": "41018012345"}
            ],
            "name": [{"family": "Nordmann", "given": ["Kari"]}],
            "gender": "female",
            "birthDate": "2013-03-13",
            "address": [{"line": ["Storgata 1"], "postalCode": "0155", "city": "Oslo",
                         "district": "Oslo", "country": "NO"}]
        })
    }

    pub(super) fn medication() -> Value {
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

    #[test]
    fn validate_known_profiles_lists_the_carried_ones() {
        let known = known_profiles();
        for url in [
            PATIENT,
            MEDICATION,
            MEDICATION_STATEMENT,
            COMPOSITION,
            BLOOD_PRESSURE,
        ] {
            assert!(known.contains(&url), "{url}");
        }
        assert!(
            known.contains(&"http://helsebro.no/fhir/StructureDefinition/helsebro-Communication")
        );
    }

    #[test]
    fn validate_valid_no_basis_patient_passes() {
        let issues = validate(&patient(), None);
        assert_eq!(errors(&issues), Vec::<&Issue>::new());
        let issues = validate(&patient(), Some(PATIENT));
        assert_eq!(errors(&issues), Vec::<&Issue>::new());
    }

    #[test]
    fn validate_valid_medication_passes() {
        assert_eq!(errors(&validate(&medication(), None)), Vec::<&Issue>::new());
    }

    #[test]
    fn validate_missing_element_required_by_profile() {
        // Medication.code and Medication.form are optional in core, 1..1 in no-basis.
        let mut m = medication();
        m.as_object_mut().unwrap().remove("form");
        let issues = validate(&m, None);
        let errs = errors(&issues);
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert_eq!(errs[0].code, "required");
        assert_eq!(errs[0].expression, "Medication.form");
        assert_eq!(
            errs[0].message,
            "Medication.form is required by no-basis-Medication (min 1)"
        );
        // Without the profile it is fine.
        m.as_object_mut().unwrap().remove("meta");
        assert!(errors(&validate(&m, None)).is_empty());
    }

    #[test]
    fn validate_missing_element_inside_a_slice() {
        // The HPR slice of no-basis-Practitioner requires value.
        let p = json!({
            "resourceType": "Practitioner",
            "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.4"}]
        });
        let issues = validate(
            &p,
            Some("http://hl7.no/fhir/StructureDefinition/no-basis-Practitioner"),
        );
        let errs = errors(&issues);
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert_eq!(errs[0].expression, "Practitioner.identifier[0].value");
        assert_eq!(errs[0].code, "required");
    }

    #[test]
    fn validate_too_many_in_a_slice() {
        let mut m = medication();
        m["code"]["coding"].as_array_mut().unwrap().push(
            json!({"system": "http://www.whocc.no/atc", "code": "N02BE", "display": "Anilider"}),
        );
        let issues = validate(&m, None);
        let errs = errors(&issues);
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert_eq!(errs[0].code, "structure");
        assert_eq!(errs[0].expression, "Medication.code.coding");
        assert_eq!(
            errs[0].message,
            "Medication.code.coding: slice 'ATC' allows at most 1, found 2 (no-basis-Medication)"
        );
    }

    #[test]
    fn validate_too_few_in_a_slice() {
        let mut m = medication();
        m["code"]["coding"].as_array_mut().unwrap().remove(0);
        let errs: Vec<Issue> = validate(&m, None)
            .into_iter()
            .filter(|i| i.severity == Severity::Error)
            .collect();
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert!(errs[0]
            .message
            .contains("slice 'FEST-Medication' requires at least 1, found 0"));
    }

    #[test]
    fn validate_wrong_fixed_value() {
        // The PLL-id slice fixes identifier.type to exactly {"text": "PLL"}.
        let ms = json!({
            "resourceType": "MedicationStatement",
            "identifier": [{"type": {"text": "PLL", "coding": [{"code": "x"}]}, "value": "1"}],
            "status": "active",
            "medicationReference": {"reference": "Medication/m1"},
            "subject": {"reference": "Patient/p1"}
        });
        // Not in the slice (slicing is by system, and there is none): no error.
        assert!(errors(&validate(&ms, Some(MEDICATION_STATEMENT))).is_empty());
        let bp = blood_pressure();
        let mut wrong = bp.clone();
        wrong["component"][0]["valueQuantity"]["code"] = json!("mmHg");
        let issues = validate(&wrong, None);
        let errs = errors(&issues);
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert_eq!(errs[0].code, "value");
        assert_eq!(
            errs[0].expression,
            "Observation.component[0].valueQuantity.code"
        );
        assert!(
            errs[0].message.contains("must be exactly \"mm[Hg]\""),
            "{}",
            errs[0].message
        );
    }

    /// A tiny profile (not one we carry) with a pattern on Observation.category.
    fn walk_tiny(elements: Value, resource: &Value) -> Vec<Issue> {
        let sd = json!({"url": "http://example.org/tiny", "type": "Observation",
                        "snapshot": {"element": elements}});
        let profile = model::parse(&sd).unwrap();
        let mut walker = walk::Walker::new("tiny", resource);
        walker.object(&profile.root, resource.as_object().unwrap(), "Observation");
        walker.out
    }

    #[test]
    fn validate_wrong_pattern_value() {
        let elements = json!([
            {"id": "Observation", "min": 0, "max": "*"},
            {"id": "Observation.category", "min": 1, "max": "*",
             "patternCodeableConcept": {"coding": [{
                 "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                 "code": "vital-signs"}]}}
        ]);
        let mut obs = blood_pressure();
        // Extra codings and text are fine: the instance contains the pattern.
        obs["category"][0]["coding"]
            .as_array_mut()
            .unwrap()
            .insert(0, json!({"system": "http://example.org", "code": "x"}));
        obs["category"][0]["text"] = json!("Vital signs");
        assert_eq!(walk_tiny(elements.clone(), &obs), vec![]);
        obs["category"][0]["coding"][1]["code"] = json!("laboratory");
        let issues = walk_tiny(elements, &obs);
        assert_eq!(issues.len(), 1, "{issues:#?}");
        assert_eq!(issues[0].severity, Severity::Error);
        assert_eq!(issues[0].code, "value");
        assert_eq!(issues[0].expression, "Observation.category[0]");
        assert!(
            issues[0]
                .message
                .starts_with("Observation.category[0] must match the pattern"),
            "{}",
            issues[0].message
        );
    }

    #[test]
    fn validate_pattern_containment() {
        let pattern = json!({"coding": [{"system": "s", "code": "c"}]});
        assert!(walk::contains(
            &json!({"coding": [{"system": "t", "code": "d"}, {"system": "s", "code": "c", "display": "C"}], "text": "x"}),
            &pattern
        ));
        assert!(!walk::contains(
            &json!({"coding": [{"system": "s", "code": "d"}]}),
            &pattern
        ));
        assert!(walk::equal(&json!(1.0), &json!(1)));
    }

    pub(super) fn blood_pressure() -> Value {
        json!({
            "resourceType": "Observation",
            "meta": {"profile": [BLOOD_PRESSURE]},
            "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
            "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": "2026-11-01T08:00:00+01:00",
            "component": [
                {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                 "valueQuantity": {"value": 120, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
                {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                 "valueQuantity": {"value": 80, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}
            ]
        })
    }

    #[test]
    fn validate_blood_pressure_passes_and_missing_component_fails() {
        assert_eq!(
            errors(&validate(&blood_pressure(), None)),
            Vec::<&Issue>::new()
        );
        let mut bp = blood_pressure();
        bp["component"].as_array_mut().unwrap().pop();
        let issues = validate(&bp, None);
        let errs = errors(&issues);
        assert!(
            errs.iter().any(|e| e.expression == "Observation.component"
                && e.message
                    .contains("slice 'DiastolicBP' requires at least 1, found 0")),
            "{errs:#?}"
        );
        // Observation.value[x] is sliced by type, closed, with valueQuantity 0..0.
        let mut bp = blood_pressure();
        bp["valueQuantity"] = json!({"value": 1});
        let errs: Vec<Issue> = validate(&bp, None)
            .into_iter()
            .filter(|i| i.severity == Severity::Error)
            .collect();
        assert!(
            errs.iter()
                .any(|e| e.expression == "Observation.valueQuantity"
                    && e.message.contains("slice 'valueQuantity' allows at most 0")),
            "{errs:#?}"
        );
    }

    #[test]
    fn validate_closed_slicing_rejects_a_foreign_item() {
        let sd = json!({
            "url": "http://example.org/closed", "type": "Patient",
            "snapshot": {"element": [
                {"id": "Patient", "min": 0, "max": "*"},
                {"id": "Patient.identifier", "min": 0, "max": "*",
                 "slicing": {"discriminator": [{"type": "value", "path": "system"}], "rules": "closed"}},
                {"id": "Patient.identifier:FNR", "sliceName": "FNR", "min": 0, "max": "1"},
                {"id": "Patient.identifier:FNR.system", "min": 1, "max": "1",
                 "fixedUri": "urn:oid:2.16.578.1.12.4.1.4.1"}
            ]}
        });
        let profile = model::parse(&sd).unwrap();
        let p = patient();
        let mut walker = walk::Walker::new("closed", &p);
        walker.object(&profile.root, p.as_object().unwrap(), "Patient");
        assert_eq!(walker.out.len(), 1, "{:#?}", walker.out);
        assert_eq!(walker.out[0].code, "structure");
        assert_eq!(walker.out[0].expression, "Patient.identifier[1]");
        assert!(walker.out[0].message.contains("the slicing is closed"));
    }

    #[test]
    fn validate_profile_discriminator_slices_by_conformance() {
        // Patient.name sliced by profile, closed: a name belongs to the slice when it conforms
        // to no-basis-HumanName (at most one middlename).
        let sd = json!({
            "url": "http://example.org/by-profile", "type": "Patient",
            "snapshot": {"element": [
                {"id": "Patient", "min": 0, "max": "*"},
                {"id": "Patient.name", "min": 0, "max": "*",
                 "slicing": {"discriminator": [{"type": "profile", "path": "$this"}], "rules": "closed"}},
                {"id": "Patient.name:norsk", "sliceName": "norsk", "min": 1, "max": "1",
                 "type": [{"code": "HumanName",
                           "profile": ["http://hl7.no/fhir/StructureDefinition/no-basis-HumanName"]}]}
            ]}
        });
        let profile = model::parse(&sd).unwrap();
        let middlename = "http://hl7.no/fhir/StructureDefinition/no-basis-middlename";
        let mut p = patient();
        let run = |p: &Value| {
            let mut walker = walk::Walker::new("by-profile", p);
            walker.object(&profile.root, p.as_object().unwrap(), "Patient");
            walker.out
        };
        assert_eq!(run(&p), vec![]);
        p["name"][0]["extension"] = json!([
            {"url": middlename, "valueString": "A"}, {"url": middlename, "valueString": "B"}
        ]);
        let issues = run(&p);
        let found: Vec<(&str, &str)> = issues
            .iter()
            .map(|i| (i.code, i.expression.as_str()))
            .collect();
        assert!(
            found.contains(&("structure", "Patient.name[0]")),
            "{issues:#?}"
        );
        assert!(found.contains(&("required", "Patient.name")), "{issues:#?}");
    }

    #[test]
    fn validate_closed_extension_slicing_warns_about_unknown_extensions() {
        let sd = json!({
            "url": "http://example.org/closed-extensions", "type": "Patient",
            "snapshot": {"element": [
                {"id": "Patient", "min": 0, "max": "*"},
                {"id": "Patient.extension", "min": 0, "max": "*",
                 "slicing": {"discriminator": [{"type": "value", "path": "url"}], "rules": "closed"}},
                {"id": "Patient.extension:birthTime", "sliceName": "birthTime", "min": 0, "max": "1",
                 "type": [{"code": "Extension",
                           "profile": ["http://hl7.org/fhir/StructureDefinition/patient-birthTime"]}]}
            ]}
        });
        let profile = model::parse(&sd).unwrap();
        let mut p = patient();
        p["extension"] = json!([
            {"url": "http://example.org/unknown", "valueString": "x"},
            {"url": "http://hl7.no/fhir/StructureDefinition/no-basis-urban-district",
             "valueCoding": {"code": "030101"}},
            {"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
             "valueDateTime": "2013-03-13T10:00:00+01:00"}
        ]);
        let mut walker = walk::Walker::new("closed-extensions", &p);
        walker.object(&profile.root, p.as_object().unwrap(), "Patient");
        let found: Vec<(Severity, &str, &str)> = walker
            .out
            .iter()
            .map(|i| (i.severity, i.code, i.expression.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (Severity::Warning, "extension", "Patient.extension[0]"),
                (Severity::Error, "extension", "Patient.extension[1]"),
            ],
            "{:#?}",
            walker.out
        );
    }

    pub(super) fn composition() -> Value {
        json!({
            "resourceType": "Composition",
            "meta": {"profile": [COMPOSITION]},
            "status": "final",
            "type": {"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.9602", "code": "A03-2"}]},
            "date": "2026-11-01",
            "author": [{"display": "Dr. Lege"}],
            "title": "Epikrise"
        })
    }

    #[test]
    fn validate_required_binding_violated() {
        let composition = composition();
        assert_eq!(errors(&validate(&composition, None)), Vec::<&Issue>::new());
        let mut wrong = composition.clone();
        wrong["type"]["coding"][0]["code"] = json!("Z99-9");
        let issues = validate(&wrong, None);
        let errs = errors(&issues);
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert_eq!(errs[0].code, "code-invalid");
        assert_eq!(errs[0].expression, "Composition.type");
        assert!(errs[0]
            .message
            .contains("urn:oid:2.16.578.1.12.4.1.1.9602|Z99-9"));
        // A required binding to a ValueSet we do not carry (composition-status) is skipped.
        let mut status = composition;
        status["status"] = json!("bogus");
        assert!(errors(&validate(&status, None))
            .iter()
            .all(|e| e.code != "code-invalid"));
    }

    #[test]
    fn validate_unknown_profile() {
        let mut p = patient();
        p["meta"]["profile"] = json!(["http://example.org/StructureDefinition/nope", PATIENT]);
        // dom-6 (no narrative) is reported too, as information.
        let issues: Vec<Issue> = validate(&p, None)
            .into_iter()
            .filter(|i| i.code != "invariant")
            .collect();
        assert_eq!(issues.len(), 1, "{issues:#?}");
        assert_eq!(issues[0].severity, Severity::Warning);
        assert_eq!(issues[0].code, "not-supported");
        assert_eq!(issues[0].expression, "Patient.meta.profile[0]");
        assert!(issues[0].message.contains("not known to this server"));

        let issues = validate(
            &patient(),
            Some("http://example.org/StructureDefinition/nope"),
        );
        let errs = errors(&issues);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].code, "not-supported");

        // A carried profile for another type.
        let errs: Vec<Issue> = validate(&patient(), Some(MEDICATION));
        assert!(errs
            .iter()
            .any(|e| e.message.contains("constrains Medication, not Patient")));
    }

    #[test]
    fn validate_core_issues_come_through() {
        let mut p = patient();
        p["gender"] = json!(1);
        let issues = validate(&p, None);
        assert!(issues
            .iter()
            .any(|i| i.expression == "Patient.gender" && i.severity == Severity::Error));
    }

    #[test]
    fn validate_communication_profile_requires_recipient_and_payload() {
        // The helsebro Communication profile requires recipient and payload (core does not).
        let c = json!({
            "resourceType": "Communication",
            "status": "completed",
            "subject": {"reference": "Patient/p1"},
            "sent": "2026-11-01T08:00:00+01:00"
        });
        let issues = validate(
            &c,
            Some("http://helsebro.no/fhir/StructureDefinition/helsebro-Communication"),
        );
        let exprs: Vec<&str> = errors(&issues)
            .iter()
            .map(|e| e.expression.as_str())
            .collect();
        assert_eq!(exprs, ["Communication.recipient", "Communication.payload"]);
    }

    fn example(dir: &str, file: &str) -> Value {
        let path = format!("{}/examples/{dir}/{file}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    #[test]
    fn validate_r4_examples_against_carried_profiles() {
        let bp = example("r4-clinical", "Observation-blood-pressure.json");
        assert_eq!(
            errors(&validate(&bp, Some(BLOOD_PRESSURE))),
            Vec::<&Issue>::new()
        );
        let p = example("r4", "Patient-example.json");
        assert_eq!(errors(&validate(&p, Some(PATIENT))), Vec::<&Issue>::new());
        let ms = example("r4-clinical", "MedicationStatement-example001.json");
        assert_eq!(
            errors(&validate(&ms, Some(MEDICATION_STATEMENT))),
            Vec::<&Issue>::new()
        );
        // Our Communication profile narrows payload.content[x] to string and Attachment.
        let c = example("r4-clinical", "Communication-example.json");
        let issues = validate(
            &c,
            Some("http://helsebro.no/fhir/StructureDefinition/helsebro-Communication"),
        );
        let errs = errors(&issues);
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert_eq!(
            errs[0].expression,
            "Communication.payload[1].contentReference"
        );
        assert_eq!(
            errs[0].message,
            "Communication.payload[1].contentReference: type Reference is not allowed by \
             helsebro-Communication; allowed: string, Attachment"
        );
    }

    #[test]
    fn validate_data_type_profiles_apply_to_their_elements() {
        // Patient.name is typed no-basis-HumanName, whose middlename extension is 0..1 (the
        // slice is recognised by the extension's profile URL).
        let middlename = "http://hl7.no/fhir/StructureDefinition/no-basis-middlename";
        let mut p = patient();
        p["name"][0]["extension"] = json!([
            {"url": middlename, "valueString": "Marie"},
            {"url": middlename, "valueString": "Sofie"}
        ]);
        let issues = validate(&p, None);
        let errs = errors(&issues);
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert_eq!(errs[0].expression, "Patient.name[0].extension");
        assert_eq!(
            errs[0].message,
            "Patient.name[0].extension: slice 'middlename' allows at most 1, found 2 \
             (no-basis-HumanName)"
        );
        p["name"][0]["extension"].as_array_mut().unwrap().pop();
        assert!(errors(&validate(&p, None)).is_empty());
    }
}
