//! Organization ↔ the platform's record of an organisation (a tenant, a GP office, a
//! municipality's home-care unit), following no-basis-Organization.
//!
//! The record holds the organisation number, name, HER-id, municipality number and status;
//! the snapshot keeps the rest (types, contacts, telecom, other addresses), and
//! [`organization_to_fhir`] patches only what differs.

use helsebro_profiles::identifiers;
use serde_json::{json, Map, Value};

use crate::index::{ParamKind, SearchParamDef, PARAM};
use crate::json::{array_mut, drop_if_empty, items, object_mut, set_or_remove, str_of};
use crate::patient::{TenantContext, MUNICIPALITY_CODE_EXT, MUNICIPALITY_SYSTEM};
use crate::resource_parts::{
    check_identifiers, current_identifier, patch_identifier, snapshot_or_fresh,
};
use crate::{MappingError, MappingIssue};

pub const PROFILE: &str = "http://hl7.no/fhir/StructureDefinition/no-basis-Organization";
/// HER-id, the organisation's address in Adresseregisteret (for EDI messaging).
pub const HER_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.2";

/// The platform's record of an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrganizationRecord {
    /// Organisasjonsnummer in Enhetsregisteret.
    pub org_number: Option<String>,
    pub name: Option<String>,
    pub her_id: Option<String>,
    /// Four-digit kommunenummer, from the first address that carries the no-basis
    /// municipality code extension.
    pub municipality_code: Option<String>,
    pub active: Option<bool>,
}

pub const SEARCH_PARAMS: &[SearchParamDef] = &[
    SearchParamDef {
        name: "identifier",
        kind: ParamKind::Token,
        paths: &["identifier"],
        definition: "http://hl7.org/fhir/SearchParameter/Organization-identifier",
        documentation: "An organisation identifier (system|value), e.g. the organisasjonsnummer",
        ..PARAM
    },
    SearchParamDef {
        name: "name",
        kind: ParamKind::String,
        paths: &["name", "alias"],
        definition: "http://hl7.org/fhir/SearchParameter/Organization-name",
        documentation: "A portion of the organisation's name or alias",
        ..PARAM
    },
];

/// Maps an Organization to the platform record, checking organisation numbers (mod 11) under
/// both of their systems and municipality numbers.
pub fn organization_from_fhir(
    resource: &Value,
    _tenant: &TenantContext,
) -> Result<OrganizationRecord, MappingError> {
    let mut issues = check_identifiers(resource, "Organization", |system, value| {
        identifiers::is_organisation_number_system(system).then(|| {
            (
                "organisasjonsnummer",
                identifiers::check_organisation_number(value),
            )
        })
    });
    for (i, address) in items(resource, "address").into_iter().enumerate() {
        if let Some(code) = municipality_code(address) {
            if !(code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit())) {
                issues.push(MappingIssue {
                    expression: format!(
                        "Organization.address[{i}].district.extension('{MUNICIPALITY_CODE_EXT}').valueCoding.code"
                    ),
                    message: format!("'{code}' is not a municipality number (kommunenummer has exactly four digits)"),
                });
            }
        }
    }
    if !issues.is_empty() {
        return Err(MappingError { issues });
    }
    Ok(read_record(resource))
}

fn read_record(resource: &Value) -> OrganizationRecord {
    let identifier = |of_kind: fn(&str) -> bool| {
        current_identifier(resource, of_kind)
            .and_then(|i| str_of(i, "value"))
            .map(str::to_string)
    };
    OrganizationRecord {
        org_number: identifier(identifiers::is_organisation_number_system),
        name: str_of(resource, "name").map(str::to_string),
        her_id: identifier(is_her_system),
        municipality_code: items(resource, "address")
            .into_iter()
            .find_map(municipality_code)
            .map(str::to_string),
        active: resource.get("active").and_then(Value::as_bool),
    }
}

fn is_her_system(system: &str) -> bool {
    system == HER_SYSTEM
}

fn municipality_extension(extension: &Value) -> bool {
    str_of(extension, "url") == Some(MUNICIPALITY_CODE_EXT)
}

fn municipality_code(address: &Value) -> Option<&str> {
    let district = address.get("_district")?;
    items(district, "extension")
        .into_iter()
        .find(|e| municipality_extension(e))
        .and_then(|e| e.get("valueCoding"))
        .and_then(|c| str_of(c, "code"))
}

/// Builds the Organization the record describes; with `base` (the stored snapshot) only the
/// elements whose record value differs are rewritten.
pub fn organization_to_fhir(
    record: &OrganizationRecord,
    base: Option<&Value>,
    _tenant: &TenantContext,
) -> Value {
    let mut resource = snapshot_or_fresh(base, "Organization", PROFILE);
    let current = read_record(&resource);
    // An organisation number keeps the system it was written with (OID or Brønnøysund URI).
    let org_system = current_identifier(&resource, identifiers::is_organisation_number_system)
        .and_then(|i| str_of(i, "system"))
        .unwrap_or(identifiers::ORGNR_SYSTEM)
        .to_string();
    let obj = object_mut(&mut resource);
    if current.org_number != record.org_number {
        let item = record
            .org_number
            .as_deref()
            .map(|v| (org_system.as_str(), v));
        patch_identifier(obj, identifiers::is_organisation_number_system, item);
    }
    if current.her_id != record.her_id {
        let item = record.her_id.as_deref().map(|v| (HER_SYSTEM, v));
        patch_identifier(obj, is_her_system, item);
    }
    if current.name != record.name {
        set_or_remove(obj, "name", record.name.clone().map(Value::String));
    }
    if current.municipality_code != record.municipality_code {
        patch_municipality(obj, record.municipality_code.as_deref());
    }
    if current.active != record.active {
        set_or_remove(obj, "active", record.active.map(Value::Bool));
    }
    resource
}

/// Sets the code on the address the record reads it from (the first with the extension, else
/// the first address), leaving the address's other extensions alone.
fn patch_municipality(obj: &mut Map<String, Value>, code: Option<&str>) {
    let addresses = array_mut(obj, "address");
    let index = addresses
        .iter()
        .position(|a| municipality_code(a).is_some())
        .or_else(|| (!addresses.is_empty() && code.is_some()).then_some(0));
    let Some(address) = (match index {
        Some(i) => addresses.get_mut(i),
        None if code.is_some() => {
            addresses.push(json!({}));
            addresses.last_mut()
        }
        None => None,
    }) else {
        drop_if_empty(obj, "address");
        return;
    };
    let address = object_mut(address);
    let district = object_mut(address.entry("_district").or_insert_with(|| json!({})));
    let extensions = array_mut(district, "extension");
    extensions.retain(|e| !municipality_extension(e));
    if let Some(code) = code {
        extensions.push(json!({
            "url": MUNICIPALITY_CODE_EXT,
            "valueCoding": {"system": MUNICIPALITY_SYSTEM, "code": code}
        }));
    }
    drop_if_empty(district, "extension");
    if district.is_empty() {
        address.shift_remove("_district");
    }
    if address.is_empty() {
        let addresses = array_mut(obj, "address");
        addresses.retain(|a| a.as_object().is_some_and(|o| !o.is_empty()));
    }
    drop_if_empty(obj, "address");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource_parts::test_support::{
        assert_snapshot_round_trip, assert_valid_r4, indexed, issues_of,
    };

    fn tenant() -> TenantContext {
        TenantContext::default()
    }

    fn bergen_hjemmetjeneste() -> Value {
        json!({
            "resourceType": "Organization",
            "meta": {"profile": [PROFILE]},
            "identifier": [
                {"system": identifiers::ORGNR_SYSTEM, "value": "974760673"},
                {"system": HER_SYSTEM, "value": "81234"}
            ],
            "active": true,
            "type": [{"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.8624", "code": "42", "display": "Hjemmesykepleie"}]}],
            "name": "Bergen kommune hjemmetjeneste",
            "alias": ["Hjemmetjenesten Årstad"],
            "telecom": [{"system": "phone", "value": "+4755566000"}],
            "address": [{
                "line": ["Rådhusgaten 10"],
                "postalCode": "5014",
                "city": "Bergen",
                "district": "Bergen",
                "_district": {"extension": [{"url": MUNICIPALITY_CODE_EXT, "valueCoding": {"system": MUNICIPALITY_SYSTEM, "code": "4601"}}]}
            }]
        })
    }

    // R4 examples Organization-hl7 and Organization-f001 (narrative left out).
    const R4_HL7: &str = r#"{"resourceType": "Organization", "id": "hl7", "name": "Health Level Seven International", "alias": ["HL7 International"], "telecom": [{"system": "phone", "value": "(+1) 734-677-7777"}, {"system": "fax", "value": "(+1) 734-677-6622"}, {"system": "email", "value": "hq@HL7.org"}], "address": [{"line": ["3300 Washtenaw Avenue, Suite 227"], "city": "Ann Arbor", "state": "MI", "postalCode": "48104", "country": "USA"}], "endpoint": [{"reference": "Endpoint/example"}]}"#;
    const R4_F001: &str = r#"{"resourceType": "Organization", "id": "f001", "identifier": [{"use": "official", "system": "urn:oid:2.16.528.1", "value": "91654"}, {"use": "usual", "system": "urn:oid:2.16.840.1.113883.2.4.6.1", "value": "17-0112278"}], "type": [{"coding": [{"system": "urn:oid:2.16.840.1.113883.2.4.15.1060", "code": "V6", "display": "University Medical Hospital"}, {"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "prov", "display": "Healthcare Provider"}]}], "name": "Burgers University Medical Center", "telecom": [{"system": "phone", "value": "022-655 2300", "use": "work"}], "address": [{"use": "work", "line": ["Galapagosweg 91"], "city": "Den Burg", "postalCode": "9105 PZ", "country": "NLD"}, {"use": "work", "line": ["PO Box 2311"], "city": "Den Burg", "postalCode": "9100 AA", "country": "NLD"}], "contact": [{"purpose": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/contactentity-type", "code": "PRESS"}]}, "telecom": [{"system": "phone", "value": "022-655 2334"}]}, {"purpose": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/contactentity-type", "code": "PATINF"}]}, "telecom": [{"system": "phone", "value": "022-655 2335"}]}]}"#;

    #[test]
    fn reads_every_modeled_field() {
        let r = organization_from_fhir(&bergen_hjemmetjeneste(), &tenant()).unwrap();
        assert_eq!(
            r,
            OrganizationRecord {
                org_number: Some("974760673".into()),
                name: Some("Bergen kommune hjemmetjeneste".into()),
                her_id: Some("81234".into()),
                municipality_code: Some("4601".into()),
                active: Some(true),
            }
        );
    }

    #[test]
    fn record_to_fhir_and_back_is_the_same_record() {
        let record = organization_from_fhir(&bergen_hjemmetjeneste(), &tenant()).unwrap();
        let fresh = organization_to_fhir(&record, None, &tenant());
        assert_eq!(fresh["meta"]["profile"][0], PROFILE);
        assert_valid_r4(&fresh);
        assert_eq!(fresh["identifier"][0]["system"], identifiers::ORGNR_SYSTEM);
        assert_eq!(organization_from_fhir(&fresh, &tenant()).unwrap(), record);
    }

    #[test]
    fn unchanged_records_give_back_the_resource_as_written() {
        let from = |o: &Value| organization_from_fhir(o, &tenant());
        let to =
            |r: &OrganizationRecord, base: Option<&Value>| organization_to_fhir(r, base, &tenant());
        assert_snapshot_round_trip(&bergen_hjemmetjeneste(), from, to);
        let hl7 = assert_snapshot_round_trip(&serde_json::from_str(R4_HL7).unwrap(), from, to);
        assert_eq!(
            hl7.name.as_deref(),
            Some("Health Level Seven International")
        );
        let f001 = assert_snapshot_round_trip(&serde_json::from_str(R4_F001).unwrap(), from, to);
        assert_eq!(f001.org_number, None);
        for record in [hl7, f001] {
            assert_eq!(from(&to(&record, None)).unwrap(), record);
        }
    }

    #[test]
    fn a_changed_record_patches_only_its_fields() {
        let mut written = bergen_hjemmetjeneste();
        written["identifier"][0]["system"] = json!(identifiers::ORGNR_ALIAS_SYSTEM);
        let mut record = organization_from_fhir(&written, &tenant()).unwrap();
        record.org_number = Some("312229544".into());
        record.municipality_code = Some("0301".into());
        record.her_id = None;
        let out = organization_to_fhir(&record, Some(&written), &tenant());
        assert_eq!(
            out["identifier"],
            json!([{"system": identifiers::ORGNR_ALIAS_SYSTEM, "value": "312229544"}])
        );
        let address = &out["address"][0];
        assert_eq!(
            address["_district"]["extension"][0]["valueCoding"]["code"],
            "0301"
        );
        assert_eq!(address["line"], written["address"][0]["line"]);
        for key in ["name", "alias", "type", "telecom", "active"] {
            assert_eq!(out[key], written[key], "{key}");
        }
        assert_eq!(organization_from_fhir(&out, &tenant()).unwrap(), record);

        let cleared =
            organization_to_fhir(&OrganizationRecord::default(), Some(&written), &tenant());
        for key in ["identifier", "name", "active"] {
            assert!(cleared.get(key).is_none(), "{key} should be gone");
        }
        assert!(cleared["address"][0].get("_district").is_none());
        assert_eq!(cleared["address"][0]["district"], "Bergen");
    }

    #[test]
    fn a_municipality_needs_an_address() {
        let record = OrganizationRecord {
            municipality_code: Some("5001".into()),
            ..OrganizationRecord::default()
        };
        let out = organization_to_fhir(&record, None, &tenant());
        assert_valid_r4(&out);
        assert_eq!(organization_from_fhir(&out, &tenant()).unwrap(), record);
        let back = organization_to_fhir(&OrganizationRecord::default(), Some(&out), &tenant());
        assert!(back.get("address").is_none(), "{back}");
    }

    #[test]
    fn invalid_organisation_and_municipality_numbers_are_named_with_their_paths() {
        let mut o = bergen_hjemmetjeneste();
        o["identifier"] = json!([
            {"system": HER_SYSTEM, "value": "81234"},
            {"system": identifiers::ORGNR_ALIAS_SYSTEM, "value": "974760674"},
            {"system": identifiers::ORGNR_SYSTEM, "value": "97476067"}
        ]);
        o["address"][0]["_district"]["extension"][0]["valueCoding"]["code"] = json!("460");
        assert_eq!(
            issues_of(organization_from_fhir(&o, &tenant())),
            [
                "Organization.identifier[1].value",
                "Organization.identifier[2].value",
                &format!("Organization.address[0].district.extension('{MUNICIPALITY_CODE_EXT}').valueCoding.code"),
            ]
        );
        let err = organization_from_fhir(&o, &tenant()).unwrap_err();
        assert!(err.issues[..2]
            .iter()
            .all(|i| i.message.contains("organisasjonsnummer")));
    }

    #[test]
    fn search_parameters_index_identifiers_names_and_aliases() {
        let o = bergen_hjemmetjeneste();
        assert_eq!(
            indexed(&o, SEARCH_PARAMS, "identifier"),
            [
                format!("{}|974760673", identifiers::ORGNR_SYSTEM),
                format!("{HER_SYSTEM}|81234")
            ]
        );
        assert_eq!(
            indexed(&o, SEARCH_PARAMS, "name"),
            ["bergen kommune hjemmetjeneste", "hjemmetjenesten arstad"]
        );
    }
}
