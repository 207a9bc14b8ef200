//! Patient ↔ the platform's patient record, following no-basis-Patient.
//!
//! The record holds what the platform works with (national identity number, official name,
//! birth date, gender, home address with municipality, phone, e-mail, status). The snapshot
//! of the resource keeps everything else; [`patient_to_fhir`] patches only the elements whose
//! record value differs, so a resource written is the resource read back.

use helsebro_profiles::identifiers::{self, NationalId, NationalIdKind};
use serde_json::{json, Map, Value};

use crate::index::{ParamKind, SearchParamDef, PARAM};
use crate::json::{array_mut, drop_if_empty, items, object_mut, set_or_remove, str_of};
use crate::resource_parts::patch_name_at;
use crate::{MappingError, MappingIssue};

pub const PROFILE: &str = "http://hl7.no/fhir/StructureDefinition/no-basis-Patient";
pub const MUNICIPALITY_CODE_EXT: &str =
    "http://hl7.no/fhir/StructureDefinition/no-basis-municipalitycode";
pub const MIDDLE_NAME_EXT: &str = "http://hl7.no/fhir/StructureDefinition/no-basis-middlename";
/// The municipality number register the no-basis extension binds to.
pub const MUNICIPALITY_SYSTEM: &str =
    "https://register.geonorge.no/subregister/sosi-kodelister/kartverket/kommunenummer-alle";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    Male,
    Female,
    Other,
    Unknown,
}

impl Gender {
    pub fn code(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
            Gender::Other => "other",
            Gender::Unknown => "unknown",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "male" => Gender::Male,
            "female" => Gender::Female,
            "other" => Gender::Other,
            "unknown" => Gender::Unknown,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HomeAddress {
    pub lines: Vec<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    /// The municipality's name (no-basis-Address puts it in `district`).
    pub municipality_name: Option<String>,
    /// Four-digit kommunenummer.
    pub municipality_code: Option<String>,
}

/// The platform's patient record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PatientRecord {
    pub national_id: Option<NationalId>,
    pub family_name: Option<String>,
    /// Given names separated by a space, as the platform shows them.
    pub given_names: Option<String>,
    pub middle_name: Option<String>,
    pub birth_date: Option<String>,
    pub gender: Option<Gender>,
    pub address: Option<HomeAddress>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub active: Option<bool>,
    pub deceased: bool,
}

/// What the mapping must know about the tenant the patient belongs to.
#[derive(Debug, Clone, Default)]
pub struct TenantContext {
    /// Synthetic test numbers (month + 65 / + 80) are accepted only for test tenants.
    pub is_test: bool,
    pub org_number: String,
    pub name: String,
}

/// `family` and `given`, shared by Patient and Practitioner (the core `individual-*` ones).
pub const FAMILY_PARAM: SearchParamDef = SearchParamDef {
    name: "family",
    kind: ParamKind::String,
    paths: &["name.family"],
    definition: "http://hl7.org/fhir/SearchParameter/individual-family",
    documentation: "A portion of the family name",
    ..PARAM
};
pub const GIVEN_PARAM: SearchParamDef = SearchParamDef {
    name: "given",
    kind: ParamKind::String,
    paths: &["name.given"],
    definition: "http://hl7.org/fhir/SearchParameter/individual-given",
    documentation: "A portion of a given name",
    ..PARAM
};

pub const SEARCH_PARAMS: &[SearchParamDef] = &[
    SearchParamDef {
        name: "identifier",
        kind: ParamKind::Token,
        paths: &["identifier"],
        definition: "http://hl7.org/fhir/SearchParameter/Patient-identifier",
        documentation: "A patient identifier (system|value); search national identity numbers with POST _search",
        ..PARAM
    },
    FAMILY_PARAM,
    GIVEN_PARAM,
    SearchParamDef {
        name: "name",
        kind: ParamKind::String,
        paths: &["name"],
        definition: "http://hl7.org/fhir/SearchParameter/Patient-name",
        documentation: "A portion of any part of a name (family, given, prefix, suffix, text)",
        ..PARAM
    },
    SearchParamDef {
        name: "birthdate",
        kind: ParamKind::Date,
        paths: &["birthDate"],
        definition: "http://hl7.org/fhir/SearchParameter/individual-birthdate",
        documentation: "The patient's date of birth",
        ..PARAM
    },
    SearchParamDef {
        name: "gender",
        kind: ParamKind::Token,
        paths: &["gender"],
        definition: "http://hl7.org/fhir/SearchParameter/individual-gender",
        documentation: "Gender of the patient",
        ..PARAM
    },
    SearchParamDef {
        name: "address-postalcode",
        kind: ParamKind::String,
        paths: &["address.postalCode"],
        definition: "http://hl7.org/fhir/SearchParameter/individual-address-postalcode",
        documentation: "A postal code specified in an address",
        ..PARAM
    },
    SearchParamDef {
        name: "phone",
        kind: ParamKind::Token,
        paths: &["telecom[system=phone]"],
        definition: "http://hl7.org/fhir/SearchParameter/individual-phone",
        documentation: "A phone number",
        ..PARAM
    },
    SearchParamDef {
        name: "email",
        kind: ParamKind::Token,
        paths: &["telecom[system=email]"],
        definition: "http://hl7.org/fhir/SearchParameter/individual-email",
        documentation: "An e-mail address",
        ..PARAM
    },
    SearchParamDef {
        name: "telecom",
        kind: ParamKind::Token,
        paths: &["telecom"],
        definition: "http://hl7.org/fhir/SearchParameter/individual-telecom",
        documentation: "The value in any kind of telecom detail",
        ..PARAM
    },
    SearchParamDef {
        name: "active",
        kind: ParamKind::Token,
        paths: &["active"],
        definition: "http://hl7.org/fhir/SearchParameter/Patient-active",
        documentation: "Whether the patient record is active",
        ..PARAM
    },
    SearchParamDef {
        name: "general-practitioner",
        kind: ParamKind::Reference,
        paths: &["generalPractitioner"],
        definition: "http://hl7.org/fhir/SearchParameter/Patient-general-practitioner",
        documentation: "The patient's nominated general practitioner (fastlege) or care provider",
        targets: &["Practitioner", "Organization", "PractitionerRole"],
    },
    SearchParamDef {
        name: "organization",
        kind: ParamKind::Reference,
        paths: &["managingOrganization"],
        definition: "http://hl7.org/fhir/SearchParameter/Patient-organization",
        documentation: "The organization that is the custodian of the patient record",
        targets: &["Organization"],
    },
];

/// Maps a Patient resource to the platform record, checking the Norwegian rules the record
/// depends on: national identity numbers (with their check digits), gender codes and
/// municipality numbers.
pub fn patient_from_fhir(
    resource: &Value,
    tenant: &TenantContext,
) -> Result<PatientRecord, MappingError> {
    let mut issues = Vec::new();
    let national_id = check_national_ids(resource, tenant, &mut issues);
    if let Some(code) = str_of(resource, "gender") {
        if Gender::from_code(code).is_none() {
            issues.push(MappingIssue {
                expression: "Patient.gender".into(),
                message: format!(
                    "'{code}' is not an administrative gender (male | female | other | unknown)"
                ),
            });
        }
    }
    for (i, address) in items(resource, "address").into_iter().enumerate() {
        if let Some(code) = municipality_code(address) {
            if !(code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit())) {
                issues.push(MappingIssue {
                    expression: format!(
                        "Patient.address[{i}].district.extension('{MUNICIPALITY_CODE_EXT}').valueCoding.code"
                    ),
                    message: "a municipality number (kommunenummer) has exactly four digits".into(),
                });
            }
        }
    }
    if !issues.is_empty() {
        return Err(MappingError { issues });
    }
    let mut record = read_record(resource);
    record.national_id = national_id;
    Ok(record)
}

fn check_national_ids(
    resource: &Value,
    tenant: &TenantContext,
    issues: &mut Vec<MappingIssue>,
) -> Option<NationalId> {
    let mut first = None;
    for (i, identifier) in items(resource, "identifier").into_iter().enumerate() {
        let (Some(system), Some(value)) =
            (str_of(identifier, "system"), str_of(identifier, "value"))
        else {
            continue;
        };
        match identifiers::check_national_identifier(system, value, tenant.is_test) {
            None => {}
            Some(Ok(id)) if first.is_none() && is_current(identifier) => first = Some(id),
            Some(Ok(_)) => {}
            Some(Err(e)) => issues.push(MappingIssue {
                expression: format!("Patient.identifier[{i}].value"),
                message: format!(
                    "the value is not a valid {} ({system}): {e}",
                    kind_name_for_system(system)
                ),
            }),
        }
    }
    first
}

fn kind_name_for_system(system: &str) -> &'static str {
    match system {
        identifiers::FNR_SYSTEM => "fødselsnummer",
        identifiers::DNR_SYSTEM => "D-nummer",
        identifiers::HNR_SYSTEM => "H-nummer",
        identifiers::FHN_SYSTEM => "felles hjelpenummer",
        _ => "national identifier",
    }
}

/// An identifier whose period has ended is history (a replaced fødselsnummer), not the
/// patient's current number.
fn is_current(identifier: &Value) -> bool {
    identifier
        .get("period")
        .and_then(|p| str_of(p, "end"))
        .is_none()
}

/// Reads the record's view of a resource without judging it: used both after checking and
/// to compare a stored snapshot with a record.
fn read_record(resource: &Value) -> PatientRecord {
    let name = official_name(resource);
    let given = name.map(|n| items(n, "given")).unwrap_or_default();
    let given_names = (!given.is_empty()).then(|| {
        given
            .iter()
            .filter_map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    });
    PatientRecord {
        national_id: items(resource, "identifier")
            .into_iter()
            .filter(|i| is_current(i))
            .find_map(|i| {
                let kind = kind_of_system(str_of(i, "system")?)?;
                Some(NationalId {
                    kind,
                    value: str_of(i, "value")?.to_string(),
                    synthetic: false,
                })
            }),
        family_name: name.and_then(|n| str_of(n, "family")).map(str::to_string),
        given_names,
        middle_name: name.and_then(middle_name).map(str::to_string),
        birth_date: str_of(resource, "birthDate").map(str::to_string),
        gender: str_of(resource, "gender").and_then(Gender::from_code),
        address: home_address(resource).map(|a| HomeAddress {
            lines: items(a, "line")
                .into_iter()
                .filter_map(|l| l.as_str().map(str::to_string))
                .collect(),
            postal_code: str_of(a, "postalCode").map(str::to_string),
            city: str_of(a, "city").map(str::to_string),
            municipality_name: str_of(a, "district").map(str::to_string),
            municipality_code: municipality_code(a).map(str::to_string),
        }),
        phone: telecom(resource, "phone").map(str::to_string),
        email: telecom(resource, "email").map(str::to_string),
        active: resource.get("active").and_then(Value::as_bool),
        deceased: match resource.get("deceasedBoolean") {
            Some(v) => v.as_bool().unwrap_or(false),
            None => resource.get("deceasedDateTime").is_some(),
        },
    }
}

fn kind_of_system(system: &str) -> Option<NationalIdKind> {
    Some(match system {
        identifiers::FNR_SYSTEM => NationalIdKind::Fnr,
        identifiers::DNR_SYSTEM => NationalIdKind::Dnr,
        identifiers::HNR_SYSTEM => NationalIdKind::Hnr,
        identifiers::FHN_SYSTEM => NationalIdKind::Fhn,
        _ => return None,
    })
}

fn official_name(resource: &Value) -> Option<&Value> {
    let names = items(resource, "name");
    names
        .iter()
        .find(|n| str_of(n, "use") == Some("official"))
        .or_else(|| names.first())
        .copied()
}

fn official_name_index(resource: &Value) -> Option<usize> {
    let names = items(resource, "name");
    names
        .iter()
        .position(|n| str_of(n, "use") == Some("official"))
        .or_else(|| (!names.is_empty()).then_some(0))
}

fn middle_name(name: &Value) -> Option<&str> {
    items(name, "extension")
        .into_iter()
        .find(|e| str_of(e, "url") == Some(MIDDLE_NAME_EXT))
        .and_then(|e| str_of(e, "valueString"))
}

fn home_address_index(resource: &Value) -> Option<usize> {
    let addresses = items(resource, "address");
    addresses
        .iter()
        .position(|a| str_of(a, "use") == Some("home"))
        .or_else(|| (!addresses.is_empty()).then_some(0))
}

fn home_address(resource: &Value) -> Option<&Value> {
    home_address_index(resource).map(|i| items(resource, "address")[i])
}

fn municipality_code(address: &Value) -> Option<&str> {
    let district_ext = address.get("_district")?;
    items(district_ext, "extension")
        .into_iter()
        .find(|e| str_of(e, "url") == Some(MUNICIPALITY_CODE_EXT))
        .and_then(|e| e.get("valueCoding"))
        .and_then(|c| str_of(c, "code"))
}

fn telecom<'a>(resource: &'a Value, system: &str) -> Option<&'a str> {
    items(resource, "telecom")
        .into_iter()
        .find(|t| str_of(t, "system") == Some(system))
        .and_then(|t| str_of(t, "value"))
}

/// Builds the Patient the record describes. With `base` (the current snapshot) only the
/// elements whose record value differs are rewritten; everything else stays as written.
pub fn patient_to_fhir(
    record: &PatientRecord,
    base: Option<&Value>,
    tenant: &TenantContext,
) -> Value {
    let mut resource = base.cloned().unwrap_or_else(|| {
        json!({
            "resourceType": "Patient",
            "meta": {"profile": [PROFILE]},
            "managingOrganization": {
                "identifier": {"system": identifiers::ORGNR_SYSTEM, "value": tenant.org_number},
                "display": tenant.name
            }
        })
    });
    let current = read_record(&resource);
    if current == *record {
        return resource;
    }
    let obj = object_mut(&mut resource);
    if current.national_id != record.national_id {
        patch_national_id(obj, record.national_id.as_ref());
    }
    if (
        &current.family_name,
        &current.given_names,
        &current.middle_name,
    ) != (
        &record.family_name,
        &record.given_names,
        &record.middle_name,
    ) {
        patch_name(obj, record);
    }
    if current.birth_date != record.birth_date {
        set_or_remove(
            obj,
            "birthDate",
            record.birth_date.clone().map(Value::String),
        );
    }
    if current.gender != record.gender {
        set_or_remove(obj, "gender", record.gender.map(|g| json!(g.code())));
    }
    if current.address != record.address {
        patch_address(obj, record.address.as_ref());
    }
    if current.phone != record.phone {
        patch_telecom(obj, "phone", record.phone.as_deref());
    }
    if current.email != record.email {
        patch_telecom(obj, "email", record.email.as_deref());
    }
    if current.active != record.active {
        set_or_remove(obj, "active", record.active.map(Value::Bool));
    }
    if current.deceased != record.deceased {
        obj.shift_remove("deceasedDateTime");
        obj.insert("deceasedBoolean".into(), Value::Bool(record.deceased));
    }
    resource
}

fn patch_national_id(obj: &mut Map<String, Value>, id: Option<&NationalId>) {
    let list = array_mut(obj, "identifier");
    let national =
        |v: &Value| str_of(v, "system").and_then(kind_of_system).is_some() && is_current(v);
    match id {
        Some(id) => {
            if let Some(existing) = list.iter_mut().find(|v| national(v)) {
                let o = object_mut(existing);
                o.insert("system".into(), json!(id.kind.system()));
                o.insert("value".into(), json!(id.value));
            } else {
                list.insert(0, json!({"system": id.kind.system(), "value": id.value}));
            }
        }
        None => list.retain(|v| !national(v)),
    }
    drop_if_empty(obj, "identifier");
}

fn patch_name(obj: &mut Map<String, Value>, record: &PatientRecord) {
    let index = official_name_index(&Value::Object(obj.clone()));
    patch_name_at(
        obj,
        index,
        record.family_name.as_deref(),
        record.given_names.as_deref(),
        |n| {
            let mut extensions: Vec<Value> = items(&Value::Object(n.clone()), "extension")
                .into_iter()
                .filter(|e| str_of(e, "url") != Some(MIDDLE_NAME_EXT))
                .cloned()
                .collect();
            if let Some(middle) = &record.middle_name {
                extensions.push(json!({"url": MIDDLE_NAME_EXT, "valueString": middle}));
            }
            set_or_remove(
                n,
                "extension",
                (!extensions.is_empty()).then(|| json!(extensions)),
            );
        },
    );
}

fn patch_address(obj: &mut Map<String, Value>, address: Option<&HomeAddress>) {
    let index = home_address_index(&Value::Object(obj.clone()));
    let list = array_mut(obj, "address");
    match (address, index) {
        (None, Some(i)) => {
            list.remove(i);
        }
        (None, None) => {}
        (Some(a), index) => {
            let target = match index {
                Some(i) => &mut list[i],
                None => {
                    list.push(json!({"use": "home"}));
                    list.last_mut().expect("just pushed")
                }
            };
            let o = object_mut(target);
            set_or_remove(o, "line", (!a.lines.is_empty()).then(|| json!(a.lines)));
            set_or_remove(o, "postalCode", a.postal_code.clone().map(Value::String));
            set_or_remove(o, "city", a.city.clone().map(Value::String));
            set_or_remove(
                o,
                "district",
                a.municipality_name.clone().map(Value::String),
            );
            set_or_remove(
                o,
                "_district",
                a.municipality_code.as_ref().map(|code| {
                    json!({"extension": [{
                        "url": MUNICIPALITY_CODE_EXT,
                        "valueCoding": {"system": MUNICIPALITY_SYSTEM, "code": code}
                    }]})
                }),
            );
        }
    }
    drop_if_empty(obj, "address");
}

fn patch_telecom(obj: &mut Map<String, Value>, system: &str, value: Option<&str>) {
    let list = array_mut(obj, "telecom");
    let position = list
        .iter()
        .position(|t| str_of(t, "system") == Some(system));
    match (value, position) {
        (Some(v), Some(i)) => {
            object_mut(&mut list[i]).insert("value".into(), json!(v));
        }
        (Some(v), None) => list.push(json!({"system": system, "value": v, "use": "home"})),
        (None, Some(i)) => {
            list.remove(i);
        }
        (None, None) => {}
    }
    drop_if_empty(obj, "telecom");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(is_test: bool) -> TenantContext {
        TenantContext {
            is_test,
            org_number: "974760673".into(),
            name: "Testkommune".into(),
        }
    }

    fn line_danser() -> Value {
        json!({
            "resourceType": "Patient",
            "identifier": [{"system": identifiers::FNR_SYSTEM, "value": "13116900216"}],
            "name": [{
                "use": "official",
                "family": "Danser",
                "given": ["Line"],
                "extension": [{"url": MIDDLE_NAME_EXT, "valueString": "Mellom"}]
            }],
            "gender": "female",
            "birthDate": "1969-11-13",
            "telecom": [{"system": "phone", "value": "+4791234567"}, {"system": "email", "value": "line@example.no"}],
            "address": [{
                "use": "home",
                "line": ["Storgata 1"],
                "postalCode": "0155",
                "city": "Oslo",
                "district": "Oslo",
                "_district": {"extension": [{"url": MUNICIPALITY_CODE_EXT, "valueCoding": {"system": MUNICIPALITY_SYSTEM, "code": "0301"}}]}
            }],
            "active": true
        })
    }

    #[test]
    fn fhir_to_record_reads_every_modeled_field() {
        let r = patient_from_fhir(&line_danser(), &tenant(false)).unwrap();
        let id = r.national_id.as_ref().unwrap();
        assert_eq!(
            (id.kind, id.value.as_str()),
            (NationalIdKind::Fnr, "13116900216")
        );
        assert_eq!(r.family_name.as_deref(), Some("Danser"));
        assert_eq!(r.given_names.as_deref(), Some("Line"));
        assert_eq!(r.middle_name.as_deref(), Some("Mellom"));
        assert_eq!(r.gender, Some(Gender::Female));
        assert_eq!(r.birth_date.as_deref(), Some("1969-11-13"));
        let a = r.address.as_ref().unwrap();
        assert_eq!(a.municipality_code.as_deref(), Some("0301"));
        assert_eq!(a.postal_code.as_deref(), Some("0155"));
        assert_eq!(r.phone.as_deref(), Some("+4791234567"));
        assert_eq!(r.email.as_deref(), Some("line@example.no"));
        assert_eq!(r.active, Some(true));
        assert!(!r.deceased);
    }

    #[test]
    fn record_to_fhir_and_back_is_the_same_record() {
        let record = patient_from_fhir(&line_danser(), &tenant(false)).unwrap();
        let fresh = patient_to_fhir(&record, None, &tenant(false));
        assert_eq!(fresh["meta"]["profile"][0], PROFILE);
        assert_eq!(
            fresh["managingOrganization"]["identifier"]["value"],
            "974760673"
        );
        let again = patient_from_fhir(&fresh, &tenant(false)).unwrap();
        assert_eq!(again, record);
    }

    #[test]
    fn unchanged_record_gives_back_the_resource_as_written() {
        let written = line_danser();
        let record = patient_from_fhir(&written, &tenant(false)).unwrap();
        assert_eq!(
            patient_to_fhir(&record, Some(&written), &tenant(false)),
            written
        );
    }

    #[test]
    fn a_changed_record_patches_only_its_fields() {
        let written = line_danser();
        let mut record = patient_from_fhir(&written, &tenant(false)).unwrap();
        record.phone = Some("+4799999999".into());
        record.given_names = Some("Line Marie".into());
        record.address.as_mut().unwrap().municipality_code = Some("4601".into());
        let out = patient_to_fhir(&record, Some(&written), &tenant(false));
        assert_eq!(out["telecom"][0]["value"], "+4799999999");
        assert_eq!(out["telecom"][1], written["telecom"][1]);
        assert_eq!(out["name"][0]["given"], json!(["Line", "Marie"]));
        assert_eq!(out["name"][0]["extension"], written["name"][0]["extension"]);
        assert_eq!(
            out["address"][0]["_district"]["extension"][0]["valueCoding"]["code"],
            "4601"
        );
        assert_eq!(patient_from_fhir(&out, &tenant(false)).unwrap(), record);
    }

    #[test]
    fn removing_fields_removes_elements() {
        let written = line_danser();
        let record = PatientRecord::default();
        let out = patient_to_fhir(&record, Some(&written), &tenant(false));
        for key in [
            "identifier",
            "name",
            "gender",
            "birthDate",
            "telecom",
            "address",
            "active",
        ] {
            assert!(out.get(key).is_none(), "{key} should be gone: {out}");
        }
    }

    #[test]
    fn invalid_national_ids_are_named_with_their_path() {
        let mut p = line_danser();
        p["identifier"] = json!([
            {"system": "urn:example", "value": "x"},
            {"system": identifiers::FNR_SYSTEM, "value": "13057444850"}
        ]);
        let err = patient_from_fhir(&p, &tenant(false)).unwrap_err();
        assert_eq!(err.issues.len(), 1);
        assert_eq!(err.issues[0].expression, "Patient.identifier[1].value");
        assert!(
            err.issues[0].message.contains("fødselsnummer"),
            "{}",
            err.issues[0].message
        );
    }

    #[test]
    fn synthetic_numbers_only_for_test_tenants() {
        let mut p = line_danser();
        p["identifier"] = json!([{"system": identifiers::FNR_SYSTEM, "value": "02850097219"}]);
        assert!(patient_from_fhir(&p, &tenant(false)).is_err());
        let r = patient_from_fhir(&p, &tenant(true)).unwrap();
        assert!(r.national_id.unwrap().synthetic);
    }

    #[test]
    fn bad_gender_and_municipality_are_rejected() {
        let mut p = line_danser();
        p["gender"] = json!("f");
        p["address"][0]["_district"]["extension"][0]["valueCoding"]["code"] = json!("301");
        let err = patient_from_fhir(&p, &tenant(false)).unwrap_err();
        let paths: Vec<_> = err.issues.iter().map(|i| i.expression.as_str()).collect();
        assert_eq!(paths[0], "Patient.gender");
        assert!(paths[1].starts_with("Patient.address[0].district"));
    }

    #[test]
    fn patients_without_norwegian_identifiers_are_accepted() {
        let p = json!({"resourceType": "Patient", "identifier": [{"system": "urn:oid:1.2.36.146.595.217.0.1", "value": "12345"}]});
        let r = patient_from_fhir(&p, &tenant(false)).unwrap();
        assert!(r.national_id.is_none());
        assert_eq!(patient_to_fhir(&r, Some(&p), &tenant(false)), p);
    }
}
