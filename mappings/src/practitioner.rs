//! Practitioner ↔ the platform's user record for health personnel, following
//! no-basis-Practitioner.
//!
//! The record holds what the platform knows about a clinician (HPR number, national identity
//! number, name, e-mail, phone, status); the snapshot keeps the rest (qualifications, addresses,
//! other identifiers), and [`practitioner_to_fhir`] patches only what differs.
//!
//! The end of this file holds the JSON helpers the practitioner, organization, communication
//! and medication_statement modules share.

use helsebro_profiles::identifiers::{self, NationalId, NationalIdKind};
use serde_json::{json, Map, Value};

use crate::index::{ParamKind, SearchParamDef, PARAM};
use crate::json::{items, object_mut, set_or_remove, str_of};
use crate::patient::TenantContext;
use crate::resource_parts::{
    check_identifiers, current_identifier, is_current, patch_identifier, patch_name_at, patch_slot,
    snapshot_or_fresh,
};
use crate::MappingError;

pub const PROFILE: &str = "http://hl7.no/fhir/StructureDefinition/no-basis-Practitioner";

/// The platform's record of a clinician.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PractitionerRecord {
    /// Helsepersonellnummer from Helsepersonellregisteret.
    pub hpr_number: Option<String>,
    pub national_id: Option<NationalId>,
    pub family_name: Option<String>,
    /// Given names separated by a space, as the platform shows them.
    pub given_names: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub active: Option<bool>,
}

pub const SEARCH_PARAMS: &[SearchParamDef] = &[
    SearchParamDef {
        name: "identifier",
        kind: ParamKind::Token,
        paths: &["identifier"],
        definition: "http://hl7.org/fhir/SearchParameter/Practitioner-identifier",
        documentation: "A practitioner identifier (system|value), e.g. the HPR number",
        ..PARAM
    },
    SearchParamDef {
        name: "name",
        kind: ParamKind::String,
        paths: &["name"],
        definition: "http://hl7.org/fhir/SearchParameter/Practitioner-name",
        documentation: "A portion of any part of a name (family, given, prefix, suffix, text)",
        ..PARAM
    },
    crate::patient::FAMILY_PARAM,
    crate::patient::GIVEN_PARAM,
];

/// Maps a Practitioner to the platform record, checking the HPR number's shape and national
/// identity numbers (with their check digits; synthetic ones only for test tenants).
pub fn practitioner_from_fhir(
    resource: &Value,
    tenant: &TenantContext,
) -> Result<PractitionerRecord, MappingError> {
    let issues = check_identifiers(resource, "Practitioner", |system, value| {
        if system == identifiers::HPR_SYSTEM {
            return Some(("HPR-nummer", identifiers::check_hpr_number(value)));
        }
        let kind = NationalIdKind::from_system(system)?;
        let checked = identifiers::check_national_identifier(system, value, tenant.is_test)?;
        Some((kind.name(), checked.map(|_| ())))
    });
    if !issues.is_empty() {
        return Err(MappingError { issues });
    }
    Ok(read_record(resource))
}

fn read_record(resource: &Value) -> PractitionerRecord {
    let name = chosen_name(resource).map(|i| items(resource, "name")[i]);
    let given: Vec<&str> = name
        .map(|n| items(n, "given"))
        .unwrap_or_default()
        .into_iter()
        .filter_map(Value::as_str)
        .collect();
    PractitionerRecord {
        hpr_number: current_identifier(resource, |s| s == identifiers::HPR_SYSTEM)
            .and_then(|i| str_of(i, "value"))
            .map(str::to_string),
        national_id: national_id(resource),
        family_name: name.and_then(|n| str_of(n, "family")).map(str::to_string),
        given_names: (!given.is_empty()).then(|| given.join(" ")),
        email: telecom(resource, "email"),
        phone: telecom(resource, "phone"),
        active: resource.get("active").and_then(Value::as_bool),
    }
}

/// Snapshots were checked when written, so rechecking here only recovers the `synthetic` flag
/// (test tenants' numbers stay readable).
fn national_id(resource: &Value) -> Option<NationalId> {
    items(resource, "identifier")
        .into_iter()
        .filter(|i| is_current(i))
        .find_map(|i| {
            identifiers::check_national_identifier(str_of(i, "system")?, str_of(i, "value")?, true)?
                .ok()
        })
}

/// The official name, else the first: the one a clinician is known by.
fn chosen_name(resource: &Value) -> Option<usize> {
    let names = items(resource, "name");
    names
        .iter()
        .position(|n| str_of(n, "use") == Some("official"))
        .or_else(|| (!names.is_empty()).then_some(0))
}

fn telecom(resource: &Value, system: &str) -> Option<String> {
    items(resource, "telecom")
        .into_iter()
        .find(|t| str_of(t, "system") == Some(system))
        .and_then(|t| str_of(t, "value"))
        .map(str::to_string)
}

/// Builds the Practitioner the record describes; with `base` (the stored snapshot) only the
/// elements whose record value differs are rewritten.
pub fn practitioner_to_fhir(
    record: &PractitionerRecord,
    base: Option<&Value>,
    _tenant: &TenantContext,
) -> Value {
    let mut resource = snapshot_or_fresh(base, "Practitioner", PROFILE);
    let current = read_record(&resource);
    let obj = object_mut(&mut resource);
    if current.hpr_number != record.hpr_number {
        let item = record
            .hpr_number
            .as_deref()
            .map(|v| (identifiers::HPR_SYSTEM, v));
        patch_identifier(obj, |s| s == identifiers::HPR_SYSTEM, item);
    }
    if current.national_id != record.national_id {
        let item = record
            .national_id
            .as_ref()
            .map(|id| (id.kind.system(), id.value.as_str()));
        patch_identifier(obj, |s| NationalIdKind::from_system(s).is_some(), item);
    }
    if (&current.family_name, &current.given_names) != (&record.family_name, &record.given_names) {
        patch_name(obj, record);
    }
    for (system, old, new) in [
        ("phone", &current.phone, &record.phone),
        ("email", &current.email, &record.email),
    ] {
        if old != new {
            let item = new.as_ref().map(|v| json!({"system": system, "value": v}));
            patch_slot(
                obj,
                "telecom",
                |t| str_of(t, "system") == Some(system),
                item,
            );
        }
    }
    if current.active != record.active {
        set_or_remove(obj, "active", record.active.map(Value::Bool));
    }
    resource
}

fn patch_name(obj: &mut Map<String, Value>, record: &PractitionerRecord) {
    let index = chosen_name(&Value::Object(obj.clone()));
    patch_name_at(
        obj,
        index,
        record.family_name.as_deref(),
        record.given_names.as_deref(),
        |_| {},
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource_parts::test_support::{
        assert_snapshot_round_trip, assert_valid_r4, indexed,
    };

    fn tenant(is_test: bool) -> TenantContext {
        TenantContext {
            is_test,
            org_number: "974760673".into(),
            name: "Testkommune".into(),
        }
    }

    fn kari_lege() -> Value {
        json!({
            "resourceType": "Practitioner",
            "meta": {"profile": [PROFILE]},
            "identifier": [
                {"system": identifiers::HPR_SYSTEM, "value": "9144900"},
                {"system": identifiers::FNR_SYSTEM, "value": "13116900216"}
            ],
            "active": true,
            "name": [{"use": "official", "family": "Nordmann", "given": ["Kari", "Marie"]}],
            "telecom": [
                {"system": "phone", "value": "+4722334455", "use": "work"},
                {"system": "email", "value": "kari.nordmann@kommune.no", "use": "work"}
            ],
            "qualification": [{"code": {"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.9060", "code": "LE", "display": "Lege"}]}}]
        })
    }

    // R4 examples Practitioner-example and Practitioner-f001 (narrative left out).
    const R4_EXAMPLE: &str = r#"{"resourceType": "Practitioner", "id": "example", "identifier": [{"system": "http://www.acme.org/practitioners", "value": "23"}], "active": true, "name": [{"family": "Careful", "given": ["Adam"], "prefix": ["Dr"]}], "address": [{"use": "home", "line": ["534 Erewhon St"], "city": "PleasantVille", "state": "Vic", "postalCode": "3999"}], "qualification": [{"identifier": [{"system": "http://example.org/UniversityIdentifier", "value": "12345"}], "code": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0360/2.7", "code": "BS", "display": "Bachelor of Science"}], "text": "Bachelor of Science"}, "period": {"start": "1995"}, "issuer": {"display": "Example University"}}]}"#;
    const R4_F001: &str = r#"{"resourceType": "Practitioner", "id": "f001", "identifier": [{"use": "official", "system": "urn:oid:2.16.528.1.1007.3.1", "value": "938273695"}, {"use": "usual", "system": "urn:oid:2.16.840.1.113883.2.4.6.3", "value": "129IDH4OP733"}], "name": [{"use": "official", "family": "van den broek", "given": ["Eric"], "suffix": ["MD"]}], "telecom": [{"system": "phone", "value": "0205568263", "use": "work"}, {"system": "email", "value": "E.M.vandenbroek@bmc.nl", "use": "work"}, {"system": "fax", "value": "0205664440", "use": "work"}], "address": [{"use": "work", "line": ["Galapagosweg 91"], "city": "Den Burg", "postalCode": "9105 PZ", "country": "NLD"}], "gender": "male", "birthDate": "1975-12-07"}"#;

    #[test]
    fn reads_every_modeled_field() {
        let r = practitioner_from_fhir(&kari_lege(), &tenant(false)).unwrap();
        assert_eq!(r.hpr_number.as_deref(), Some("9144900"));
        let id = r.national_id.as_ref().unwrap();
        assert_eq!(
            (id.kind, id.value.as_str()),
            (NationalIdKind::Fnr, "13116900216")
        );
        assert_eq!(r.family_name.as_deref(), Some("Nordmann"));
        assert_eq!(r.given_names.as_deref(), Some("Kari Marie"));
        assert_eq!(r.phone.as_deref(), Some("+4722334455"));
        assert_eq!(r.email.as_deref(), Some("kari.nordmann@kommune.no"));
        assert_eq!(r.active, Some(true));
    }

    #[test]
    fn record_to_fhir_and_back_is_the_same_record() {
        let record = practitioner_from_fhir(&kari_lege(), &tenant(false)).unwrap();
        let fresh = practitioner_to_fhir(&record, None, &tenant(false));
        assert_eq!(fresh["meta"]["profile"][0], PROFILE);
        assert_valid_r4(&fresh);
        assert_eq!(
            practitioner_from_fhir(&fresh, &tenant(false)).unwrap(),
            record
        );
        let synthetic = PractitionerRecord {
            national_id: identifiers::check_person_number("02850097219", true).ok(),
            ..PractitionerRecord::default()
        };
        let fresh = practitioner_to_fhir(&synthetic, None, &tenant(true));
        assert_eq!(
            practitioner_from_fhir(&fresh, &tenant(true)).unwrap(),
            synthetic
        );
    }

    #[test]
    fn unchanged_records_give_back_the_resource_as_written() {
        let from = |p: &Value| practitioner_from_fhir(p, &tenant(false));
        let to = |r: &PractitionerRecord, base: Option<&Value>| {
            practitioner_to_fhir(r, base, &tenant(false))
        };
        assert_snapshot_round_trip(&kari_lege(), from, to);
        let example =
            assert_snapshot_round_trip(&serde_json::from_str(R4_EXAMPLE).unwrap(), from, to);
        assert_eq!(example.family_name.as_deref(), Some("Careful"));
        let f001 = assert_snapshot_round_trip(&serde_json::from_str(R4_F001).unwrap(), from, to);
        assert_eq!(f001.email.as_deref(), Some("E.M.vandenbroek@bmc.nl"));
        // (a) holds for records read from the examples too.
        for record in [example, f001] {
            assert_eq!(from(&to(&record, None)).unwrap(), record);
        }
    }

    #[test]
    fn a_changed_record_patches_only_its_fields() {
        let written = kari_lege();
        let mut record = practitioner_from_fhir(&written, &tenant(false)).unwrap();
        record.hpr_number = Some("1234567".into());
        record.email = None;
        record.given_names = Some("Kari".into());
        let out = practitioner_to_fhir(&record, Some(&written), &tenant(false));
        assert_valid_r4(&out);
        assert_eq!(out["identifier"][0]["value"], "1234567");
        assert_eq!(out["identifier"][1], written["identifier"][1]);
        assert_eq!(out["telecom"], json!([written["telecom"][0]]));
        assert_eq!(out["name"][0]["given"], json!(["Kari"]));
        assert_eq!(out["name"][0]["family"], "Nordmann");
        assert_eq!(out["qualification"], written["qualification"]);
        assert_eq!(
            practitioner_from_fhir(&out, &tenant(false)).unwrap(),
            record
        );

        let empty = practitioner_to_fhir(
            &PractitionerRecord::default(),
            Some(&written),
            &tenant(false),
        );
        for key in ["identifier", "name", "telecom", "active"] {
            assert!(empty.get(key).is_none(), "{key} should be gone: {empty}");
        }
        assert_eq!(empty["qualification"], written["qualification"]);
    }

    #[test]
    fn invalid_hpr_and_national_numbers_are_named_with_their_paths() {
        let mut p = kari_lege();
        p["identifier"] = json!([
            {"system": "urn:example", "value": "x"},
            {"system": identifiers::HPR_SYSTEM, "value": "91-44900"},
            {"system": identifiers::DNR_SYSTEM, "value": "13116900216"},
            {"system": identifiers::FNR_SYSTEM, "value": "02850097219"}
        ]);
        let err = practitioner_from_fhir(&p, &tenant(false)).unwrap_err();
        let found: Vec<_> = err
            .issues
            .iter()
            .map(|i| (i.expression.as_str(), i.message.as_str()))
            .collect();
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(found[0].0, "Practitioner.identifier[1].value");
        assert!(found[0].1.contains("HPR-nummer"), "{}", found[0].1);
        assert_eq!(found[1].0, "Practitioner.identifier[2].value");
        assert!(found[1].1.contains("D-nummer"), "{}", found[1].1);
        assert_eq!(found[2].0, "Practitioner.identifier[3].value");
        assert!(found[2].1.contains("fødselsnummer"), "{}", found[2].1);
    }

    #[test]
    fn search_parameters_index_identifiers_and_names() {
        let p = kari_lege();
        let at = |param| indexed(&p, SEARCH_PARAMS, param);
        assert_eq!(
            at("identifier"),
            [
                format!("{}|9144900", identifiers::HPR_SYSTEM),
                format!("{}|13116900216", identifiers::FNR_SYSTEM)
            ]
        );
        assert_eq!(at("name"), ["nordmann", "kari", "marie"]);
        assert_eq!(at("family"), ["nordmann"]);
        assert_eq!(at("given"), ["kari", "marie"]);
    }
}
