//! FHIR R4 document Bundles that Helsebro delivers to a municipality's EHR through VKP/JFT:
//! a journal note, a summary of measurements over a period, and a closed DHO alert.
//!
//! Every document is a `Bundle` of type `document` whose first entry is a
//! `vkp-Composition-v090` (also valid as `no-basis-Composition`): category 2 Digital
//! hjemmeoppfølging, a `type` from Volven 9602 (the no-basis ValueSet), sections coded from
//! `vkp-composition-section-v090` with generated narrative. As VKP requires, the patient is
//! referenced logically by FNR/DNR identifier, never by a literal `Patient` reference, and the
//! author by HPR number (or the sending organisation by organisation number).
//!
//! The receiving municipality has no slot in the VKP profiles: VKP and JFT take it from the
//! URL (`…/epj/r4/{orgnr}/Bundle`), so [`DocumentHeader::receiver`] is for the caller that
//! sends the document and does not appear in it.
//!
//! Entry `fullUrl`s are name-based (version 5) UUIDs in the document's own namespace, so the
//! same inputs always give the same Bundle. No IO and no clock: every time comes from the input.

mod closed_alert;
mod composition;
mod journal_note;
mod measurement_summary;

pub use closed_alert::{alert_display, closed_alert_document};
pub use journal_note::journal_note_document;
pub use measurement_summary::measurement_summary_document;

use helsebro_profiles::identifiers::{DNR_SYSTEM, FNR_SYSTEM};
use serde_json::Value;

/// The VKP Composition profile every document's Composition claims.
pub const VKP_COMPOSITION: &str = "http://ehelse.no/fhir/StructureDefinition/vkp-Composition-v090";
/// The VKP DetectedIssue profile of a closed alert.
pub const VKP_DETECTED_ISSUE: &str =
    "http://ehelse.no/fhir/StructureDefinition/vkp-DetectedIssue-v090";
/// Volven 9602 (dokumenttype), the system of no-basis-documentreference-type.
pub const DOCUMENT_TYPE_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.1.9602";
pub const COMPOSITION_CATEGORY_SYSTEM: &str =
    "http://ehelse.no/fhir/CodeSystem/vkp-composition-category-v090";
pub const COMPOSITION_EVENT_SYSTEM: &str =
    "http://ehelse.no/fhir/CodeSystem/vkp-composition-event-v090";
pub const COMPOSITION_SECTION_SYSTEM: &str =
    "http://ehelse.no/fhir/CodeSystem/vkp-composition-section-v090";
pub const ALERT_CODE_SYSTEM: &str = "http://ehelse.no/fhir/CodeSystem/vkp-alert-code-v090";
/// The system of a Bundle identifier that is a `urn:uuid:` URI.
pub const URI_SYSTEM: &str = "urn:ietf:rfc:3986";

/// Which national person number identifies the patient. VKP accepts fødselsnummer and
/// D-nummer (H-numbers are local and have no place in a document sent out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NationalIdKind {
    /// Fødselsnummer.
    #[default]
    Fnr,
    /// D-nummer.
    Dnr,
}

impl NationalIdKind {
    /// The `Identifier.system` of the kind (no-basis-Patient's FNR and DNR slices).
    pub fn system(self) -> &'static str {
        match self {
            NationalIdKind::Fnr => FNR_SYSTEM,
            NationalIdKind::Dnr => DNR_SYSTEM,
        }
    }
}

/// The patient a document is about.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PatientIdentity {
    /// The 11-digit fødselsnummer or D-nummer, checked by the caller
    /// (`helsebro_profiles::identifiers::check_person_number`).
    pub national_id: String,
    pub kind: NationalIdKind,
    /// Family name and given names, shown as the reference's `display`.
    pub name: Option<(String, Vec<String>)>,
}

/// A sending or receiving organisation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Organisation {
    /// Organisasjonsnummer (Enhetsregisteret).
    pub org_number: String,
    pub name: String,
    /// Not written: VKP R4 dropped HER-ids, and no-basis keeps them off Organization.
    pub her_id: Option<String>,
}

/// The health professional responsible for a document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Author {
    /// Helsepersonellregisteret number. Without it the sending organisation is the author.
    pub hpr_number: Option<String>,
    pub name: Option<String>,
}

/// What every document carries, whatever its kind.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocumentHeader {
    /// A UUID: the Bundle's identifier (`urn:uuid:…`) by which JFT recognises retries, and
    /// the namespace of the entries' `fullUrl`s.
    pub document_id: String,
    /// FHIR dateTime: `Bundle.timestamp`.
    pub created: String,
    pub patient: PatientIdentity,
    pub sender: Organisation,
    /// Not written into the document: the receiver is the organisation number in the URL.
    pub receiver: Organisation,
    pub author: Option<Author>,
}

/// A journal note (journalnotat) written in the platform.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JournalNote {
    /// The platform's id of the note, stable across its versions.
    pub id: String,
    /// The note's version. A document has no element for it: each version is sent as a
    /// document of its own (its own `document_id`); the Composition identifier stays the same.
    pub version: i64,
    pub title: String,
    pub text: String,
    /// FHIR dateTime: when this version was written (`Composition.date`).
    pub written_at: String,
}

/// Measurements of a period, summarised for the EHR.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MeasurementSummary {
    /// FHIR dateTime (or date).
    pub period_start: String,
    pub period_end: String,
    /// Observation resources as Helsebro serves them, in the order the table lists them.
    pub observations: Vec<Value>,
}

/// A DHO alert the care team has closed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClosedAlert {
    /// The platform's id of the alert.
    pub id: String,
    /// A code of `vkp-alert-code-v090`, e.g. "5.3.2" Måling ikke rapportert.
    pub code: String,
    /// What the alert was about (`DetectedIssue.detail`).
    pub detail: String,
    /// FHIR dateTime: when the alert was raised.
    pub identified: String,
    /// FHIR dateTime: when it was closed.
    pub closed: String,
    /// The Observations that raised it, as Helsebro serves them.
    pub evidence: Vec<Value>,
}

/// What the documents' tests share: fixtures, and checks against the profiles and code
/// systems vendored in `profiles/data`, read at test time.
#[cfg(test)]
pub(crate) mod testkit {
    use std::collections::{BTreeMap, HashSet};
    use std::path::PathBuf;

    use helsebro_profiles::format::xml_to_json;
    use helsebro_profiles::structure::{check_resource, Severity};
    use serde_json::{json, Value};

    use super::*;
    use crate::json::{items, str_of};

    pub fn header() -> DocumentHeader {
        DocumentHeader {
            document_id: "6f2a3c1e-8b4d-4e7a-9c2f-1d3e5b7a9c01".into(),
            created: "2024-03-05T12:00:00+01:00".into(),
            patient: PatientIdentity {
                national_id: "13116900216".into(),
                kind: NationalIdKind::Fnr,
                name: Some(("Danser".into(), vec!["Line".into()])),
            },
            sender: Organisation {
                org_number: "974760673".into(),
                name: "Testkommune helse".into(),
                her_id: Some("8142519".into()),
            },
            receiver: Organisation {
                org_number: "312229544".into(),
                name: "JFT testkommune".into(),
                her_id: None,
            },
            author: Some(Author {
                hpr_number: Some("9144900".into()),
                name: Some("Kari Sykepleier".into()),
            }),
        }
    }

    /// A heart rate as Helsebro serves it: server id and version, the literal subject with
    /// VKP's logical one beside it, the patient as performer, a device of the platform.
    pub fn heart_rate() -> Value {
        json!({
            "resourceType": "Observation",
            "id": "hr-1",
            "meta": {"versionId": "3", "lastUpdated": "2024-03-01T08:16:02Z", "profile": [crate::codes::VKP_HEARTRATE]},
            "status": "final",
            "category": [{"coding": [{"system": crate::codes::OBSERVATION_CATEGORY, "code": "vital-signs"}]}],
            "code": {"coding": [{"system": crate::codes::LOINC, "code": "8867-4", "display": "Heart rate"}], "text": "Puls"},
            "subject": {
                "reference": "Patient/p1",
                "identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": "13116900216"},
                "display": "Line Danser"
            },
            "effectiveDateTime": "2024-03-01T08:15:00+01:00",
            "performer": [{"reference": "Patient/p1"}],
            "valueQuantity": {"value": 64, "unit": "slag/min", "system": crate::codes::UCUM, "code": "/min"},
            "device": {"reference": "Device/pulsoksymeter-7", "display": "Nonin 3230"}
        })
    }

    pub fn blood_pressure() -> Value {
        json!({
            "resourceType": "Observation",
            "id": "bp-1",
            "meta": {"versionId": "1", "lastUpdated": "2024-03-01T08:06:00Z"},
            "status": "final",
            "code": {"coding": [{"system": crate::codes::LOINC, "code": "85354-9", "display": "Blood pressure panel with all children optional"}]},
            "subject": {"reference": "Patient/p1"},
            "effectivePeriod": {"start": "2024-03-01T08:00:00+01:00", "end": "2024-03-01T08:05:00+01:00"},
            "performer": [{"reference": "Practitioner/sykepleier-1"}],
            "component": [
                {"code": {"coding": [{"system": crate::codes::LOINC, "code": "8480-6"}]},
                 "valueQuantity": {"value": 132, "unit": "mmHg", "system": crate::codes::UCUM, "code": "mm[Hg]"}},
                {"code": {"coding": [{"system": crate::codes::LOINC, "code": "8462-4"}]},
                 "valueQuantity": {"value": 84, "unit": "mmHg", "system": crate::codes::UCUM, "code": "mm[Hg]"}}
            ]
        })
    }

    /// The profile packages vendored in `profiles/data` (copies of the national packages,
    /// so the tests need neither the network nor anything outside the repository).
    fn shared_fhir(file: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../profiles/data")
            .join(file)
    }

    /// A vendored resource, JSON or XML (read through fhirbolt).
    pub fn read_resource(file: &str) -> Value {
        let path = shared_fhir(file);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        if file.ends_with(".xml") {
            // fhirbolt's reader wants the encoding spelled "UTF-8"; the VKP files say "utf-8".
            let body = match text.trim_start().strip_prefix("<?xml") {
                Some(rest) => rest.split_once("?>").map_or(rest, |(_, body)| body),
                None => &text,
            };
            xml_to_json(body).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        }
    }

    /// Minimum cardinalities by element path (`Composition.section.code`).
    type Rules = BTreeMap<String, u64>;

    /// The rules of a StructureDefinition's snapshot, or of its differential laid over
    /// `base` (the VKP profiles come without a snapshot). Slices are left out.
    pub fn rules_of(sd: &Value, part: &str, mut base: Rules) -> Rules {
        for e in items(&sd[part], "element") {
            let id = str_of(e, "id").unwrap_or_default();
            if id.contains(':') {
                continue;
            }
            if let Some(min) = e.get("min").and_then(Value::as_u64) {
                base.insert(id.to_string(), min);
            }
        }
        base
    }

    /// The R4 core rules of a resource type, from the table the structure checker uses
    /// (generated from the R4 StructureDefinitions): the base the VKP differentials apply to.
    pub fn core_rules(resource_type: &str) -> Rules {
        let table: Value =
            serde_json::from_str(include_str!("../../../profiles/data/r4-types.json")).unwrap();
        let mut rules = Rules::new();
        for e in table["types"][resource_type]["e"].as_array().unwrap() {
            let path = format!("{resource_type}.{}", e[0].as_str().unwrap());
            rules.insert(path, e[1].as_u64().unwrap());
        }
        rules
    }

    /// The values of `name` in `node`; `name[x]` matches every `nameType`.
    fn children<'a>(node: &'a Value, name: &str) -> Vec<&'a Value> {
        match name.strip_suffix("[x]") {
            None => items(node, name),
            Some(prefix) => node
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter(|(k, _)| {
                            k.strip_prefix(prefix).is_some_and(|rest| {
                                rest.starts_with(|c: char| c.is_ascii_uppercase())
                            })
                        })
                        .flat_map(|(_, v)| match v {
                            Value::Array(a) => a.iter().collect(),
                            v => vec![v],
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Every element with min ≥ 1 whose parent is present but which has fewer values.
    pub fn missing_required(resource: &Value, rules: &Rules) -> Vec<String> {
        let mut out = Vec::new();
        for (path, &min) in rules {
            let segments: Vec<&str> = path.split('.').skip(1).collect();
            let Some((last, parents)) = segments.split_last() else {
                continue;
            };
            if min == 0 {
                continue;
            }
            let mut nodes = vec![resource];
            for seg in parents {
                nodes = nodes.into_iter().flat_map(|n| children(n, seg)).collect();
            }
            for (i, n) in nodes.iter().enumerate() {
                let found = children(n, last).len() as u64;
                if found < min {
                    out.push(format!("{path} (parent #{i}): {found} < {min}"));
                }
            }
        }
        out
    }

    fn composition_rules() -> Vec<(&'static str, Rules)> {
        let no_basis =
            read_resource("no-basis-2.2.0/no-basis-Composition.structuredefinition.json");
        let vkp = read_resource(
            "vkp-r4-v090/StructureDefinition/vkp-Composition-v090.structuredefinition-profile.xml",
        );
        assert_eq!(str_of(&vkp, "url"), Some(VKP_COMPOSITION));
        vec![
            (
                "no-basis-Composition",
                rules_of(&no_basis, "snapshot", Rules::new()),
            ),
            (
                "vkp-Composition-v090",
                rules_of(&vkp, "differential", core_rules("Composition")),
            ),
        ]
    }

    fn detected_issue_rules() -> Rules {
        let vkp = read_resource(
            "vkp-r4-v090/StructureDefinition/vkp-DetectedIssue-v090.structuredefinition-profile.xml",
        );
        assert_eq!(str_of(&vkp, "url"), Some(VKP_DETECTED_ISSUE));
        rules_of(&vkp, "differential", core_rules("DetectedIssue"))
    }

    /// The codes of a CodeSystem (nested concepts too) with their displays.
    pub fn code_system(file: &str) -> (String, BTreeMap<String, String>) {
        fn walk(node: &Value, out: &mut BTreeMap<String, String>) {
            for c in items(node, "concept") {
                out.insert(
                    str_of(c, "code").unwrap().to_string(),
                    str_of(c, "display").unwrap_or_default().to_string(),
                );
                walk(c, out);
            }
        }
        let cs = read_resource(&format!("vkp-r4-v090/CodeSystem/{file}"));
        let mut out = BTreeMap::new();
        walk(&cs, &mut out);
        (str_of(&cs, "url").unwrap().to_string(), out)
    }

    fn assert_coding_in(coding: &Value, cs: &(String, BTreeMap<String, String>)) {
        assert_eq!(str_of(coding, "system"), Some(cs.0.as_str()), "{coding}");
        let code = str_of(coding, "code").unwrap();
        let display =
            cs.1.get(code)
                .unwrap_or_else(|| panic!("{code} not in {}", cs.0));
        if let Some(d) = str_of(coding, "display") {
            assert_eq!(d, display, "display of {code} in {}", cs.0);
        }
    }

    fn resources(doc: &Value) -> Vec<&Value> {
        items(doc, "entry")
            .into_iter()
            .map(|e| &e["resource"])
            .collect()
    }

    /// Category, event, section and alert codes exist in the VKP code systems, with their
    /// displays; the document type is in no-basis-documentreference-type.
    pub fn assert_codes_known(doc: &Value) {
        let category = code_system("vkp-composition-category-v090.codesystem.xml");
        let event = code_system("vkp-composition-event-v090.codesystem.xml");
        let section = code_system("vkp-composition-section-v090.codesystem.xml");
        let alert = code_system("vkp-alert-code-v090.codesystem.xml");
        let c = &doc["entry"][0]["resource"];
        let categories = items(c, "category");
        assert!(!categories.is_empty());
        for cat in categories {
            for coding in items(cat, "coding") {
                assert_coding_in(coding, &category);
            }
        }
        for e in items(c, "event") {
            for code in items(e, "code") {
                for coding in items(code, "coding") {
                    assert_coding_in(coding, &event);
                }
            }
        }
        fn sections<'a>(node: &'a Value, out: &mut Vec<&'a Value>) {
            for s in items(node, "section") {
                out.push(s);
                sections(s, out);
            }
        }
        let mut all = Vec::new();
        sections(c, &mut all);
        assert!(!all.is_empty());
        for s in all {
            for coding in items(&s["code"], "coding") {
                assert_coding_in(coding, &section);
            }
        }
        let vs = read_resource("no-basis-2.2.0/no-basis-documentreference-type.valueset.json");
        let include = &vs["compose"]["include"][0];
        let ty = &c["type"]["coding"][0];
        assert_eq!(ty["system"], include["system"]);
        assert!(
            items(include, "concept")
                .iter()
                .any(|k| k["code"] == ty["code"] && k["display"] == ty["display"]),
            "{ty} not in no-basis-documentreference-type"
        );
        for r in resources(doc) {
            if r["resourceType"] == "DetectedIssue" {
                for coding in items(&r["code"], "coding") {
                    assert_coding_in(coding, &alert);
                }
            }
        }
    }

    /// No reference to a Patient anywhere but by identifier; the subject carries no literal
    /// reference at all.
    pub fn assert_no_literal_patient_reference(doc: &Value) {
        fn walk(node: &Value, path: &str) {
            match node {
                Value::Object(o) => {
                    if let Some(r) = o.get("reference").and_then(Value::as_str) {
                        assert!(r.starts_with("urn:uuid:"), "{path}: literal reference {r}");
                    }
                    for (k, v) in o {
                        walk(v, &format!("{path}.{k}"));
                    }
                }
                Value::Array(a) => a
                    .iter()
                    .enumerate()
                    .for_each(|(i, v)| walk(v, &format!("{path}[{i}]"))),
                _ => {}
            }
        }
        walk(doc, "Bundle");
        let c = &doc["entry"][0]["resource"];
        assert!(c["subject"].get("reference").is_none());
        assert!(c["subject"]["identifier"]["value"].is_string());
    }

    /// A valid R4 document Bundle whose Composition has what no-basis-Composition and
    /// vkp-Composition-v090 require, and whose DetectedIssues what vkp-DetectedIssue-v090
    /// requires.
    pub fn assert_valid_document(doc: &Value) {
        let errors: Vec<_> = check_resource(doc)
            .into_iter()
            .filter(|i| i.severity == Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{errors:#?}\n{doc:#}");

        // bdl-9, bdl-10, bdl-11 and unique, resolvable urn:uuid fullUrls.
        assert_eq!(doc["type"], "document");
        assert_eq!(doc["identifier"]["system"], URI_SYSTEM);
        let id = doc["identifier"]["value"].as_str().unwrap();
        assert!(id.starts_with("urn:uuid:") && id.len() == 45, "{id}");
        assert!(doc["timestamp"].is_string());
        let entries = items(doc, "entry");
        assert_eq!(entries[0]["resource"]["resourceType"], "Composition");
        let mut urls = HashSet::new();
        for e in &entries {
            let url = e["fullUrl"].as_str().unwrap();
            assert!(url.starts_with("urn:uuid:") && url.len() == 45, "{url}");
            assert!(urls.insert(url), "duplicate fullUrl {url}");
            assert!(e["resource"].get("id").is_none());
        }
        fn refs<'a>(node: &'a Value, out: &mut Vec<&'a str>) {
            match node {
                Value::Object(o) => {
                    if let Some(r) = o.get("reference").and_then(Value::as_str) {
                        out.push(r);
                    }
                    o.values().for_each(|v| refs(v, out));
                }
                Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let mut all = Vec::new();
        refs(doc, &mut all);
        for r in all {
            assert!(urls.contains(r), "unresolved reference {r}");
        }

        let c = &entries[0]["resource"];
        assert_eq!(c["meta"]["profile"], json!([VKP_COMPOSITION]));
        assert_eq!(c["status"], "final");
        for (profile, rules) in composition_rules() {
            let missing = missing_required(c, &rules);
            assert!(missing.is_empty(), "{profile}: {missing:?}");
        }
        let issue_rules = detected_issue_rules();
        for r in resources(doc) {
            if r["resourceType"] == "DetectedIssue" {
                let missing = missing_required(r, &issue_rules);
                assert!(missing.is_empty(), "vkp-DetectedIssue-v090: {missing:?}");
            }
        }
    }

    #[test]
    fn the_required_element_check_finds_what_is_missing() {
        let (_, vkp) = composition_rules().remove(1);
        for must in [
            "Composition.category",
            "Composition.subject",
            "Composition.title",
        ] {
            assert_eq!(vkp.get(must), Some(&1), "{must}");
        }
        let c = json!({
            "resourceType": "Composition",
            "status": "final",
            "section": [{"title": "a"}],
            "relatesTo": [{"code": "replaces"}]
        });
        let missing = missing_required(&c, &vkp);
        for path in [
            "Composition.type",
            "Composition.category",
            "Composition.subject",
            "Composition.date",
            "Composition.author",
            "Composition.title",
            "Composition.relatesTo.target[x]",
        ] {
            assert!(
                missing.iter().any(|m| m.starts_with(path)),
                "{path}: {missing:?}"
            );
        }
        // attester is absent, so its mode is not required.
        assert!(
            !missing.iter().any(|m| m.contains("attester")),
            "{missing:?}"
        );
        let issue = detected_issue_rules();
        assert_eq!(issue.get("DetectedIssue.code"), Some(&1));
        assert_eq!(issue.get("DetectedIssue.patient"), Some(&1));
        let d = json!({"resourceType": "DetectedIssue", "mitigation": [{"date": "2024"}]});
        let missing = missing_required(&d, &issue);
        assert_eq!(missing.len(), 4, "{missing:?}");
    }

    #[test]
    fn national_id_kinds_have_the_identifier_systems_of_the_shared_list() {
        let list = read_resource("identifier-systems.json");
        let people = &list["person_identifiers"];
        assert_eq!(
            people["FNR_fodselsnummer"]["system"],
            NationalIdKind::Fnr.system()
        );
        assert_eq!(
            people["DNR_d-nummer"]["system"],
            NationalIdKind::Dnr.system()
        );
        assert_eq!(
            people["HPR_helsepersonellnummer"]["system"],
            helsebro_profiles::identifiers::HPR_SYSTEM
        );
        assert_eq!(
            list["organization_identifiers"]["ENH_organisasjonsnummer"]["system"],
            helsebro_profiles::identifiers::ORGNR_SYSTEM
        );
    }
}
