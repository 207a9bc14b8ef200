use serde_json::{json, Value};

use helsebro_mappings::index::ParamKind;

use crate::registry::{
    ResourceDef, COMMON_PARAMS, EXPORT_GROUP, EXPORT_PATIENT, EXPORT_SYSTEM, META_PARAMS, SERVED,
    SYSTEM_INTERACTIONS,
};

pub struct ServerInfo<'a> {
    pub base_url: &'a str,
    pub version: &'a str,
    /// When this server instance started, as a FHIR dateTime.
    pub date: &'a str,
    /// The built-in authorization server's endpoint URL prefix, e.g. `https://host/auth/`.
    pub auth_base: &'a str,
    /// The profiles writes of a type are validated against at the Norwegian level (the
    /// server decides, from the profiles it carries): each type's `supportedProfile`.
    pub supported_profiles: &'a dyn Fn(&str) -> Vec<&'static str>,
}

/// The R4 base server capability this statement builds on.
const BASE_SERVER: &str = "http://hl7.org/fhir/CapabilityStatement/base";
/// HL7 Norway's base profiles (package `hl7.fhir.no.basis`, canonical base `http://hl7.no/fhir/`).
const NO_BASIS_IG: &str = "http://hl7.no/fhir/ImplementationGuide/hl7.fhir.no.basis";

/// The CapabilityStatement for `/metadata`, written from the registry.
pub fn capability_statement(info: &ServerInfo) -> Value {
    json!({
        "resourceType": "CapabilityStatement",
        "id": "helsebro",
        "url": format!("{}/metadata", info.base_url),
        "version": info.version,
        "name": "Helsebro",
        "title": "Helsebro FHIR R4 server",
        "status": "active",
        "experimental": false,
        "date": info.date,
        "publisher": "Helsebro",
        "description": "FHIR R4 facade over a Norwegian remote-care platform's records, mapped to the no-basis profiles.",
        "kind": "instance",
        "instantiates": [BASE_SERVER],
        "software": {"name": "Helsebro", "version": info.version},
        "implementation": {"description": "Helsebro", "url": info.base_url},
        "fhirVersion": "4.0.1",
        // `_format` and `Accept` take the short forms and the media types alike.
        "format": ["json", "xml", "application/fhir+json", "application/fhir+xml"],
        "implementationGuide": [NO_BASIS_IG],
        "rest": [{
            "mode": "server",
            "security": security(info.auth_base),
            "resource": SERVED
                .iter()
                .map(|def| resource_entry(def, (info.supported_profiles)(def.type_name)))
                .map(with_operations)
                .chain([audit_event_entry(), group_entry()])
                .collect::<Vec<_>>(),
            "interaction": SYSTEM_INTERACTIONS
                .iter()
                .map(|code| json!({"code": code}))
                .collect::<Vec<_>>(),
            // Searches across types (`GET [base]?_type=…`) take the parameters every type has.
            "searchParam": COMMON_PARAMS
                .iter()
                .chain(META_PARAMS.iter())
                .map(|p| json!({
                    "name": p.name,
                    "definition": p.definition,
                    "type": p.kind.code(),
                    "documentation": p.documentation
                }))
                .collect::<Vec<_>>(),
            "operation": [{"name": "export", "definition": EXPORT_SYSTEM,
                "documentation": "Bulk Data export of the tenant, for backend services (system/ scopes); NDJSON files sealed at rest, kept 24 hours."}]
        }]
    })
}

/// SMART on FHIR: every request needs a bearer token; the OAuth endpoints are named in the
/// `oauth-uris` extension as the SMART App Launch guide asks (clients such as Python's
/// `fhirclient` read them there). There is no dynamic registration endpoint: clients are
/// registered by the operator (`helsebro client add`), so `register` is not listed.
fn security(auth_base: &str) -> Value {
    json!({
        "cors": true,
        "service": [{
            "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                "code": "SMART-on-FHIR"
            }],
            "text": "OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)"
        }],
        "extension": [{
            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
            "extension": [
                {"url": "authorize", "valueUri": format!("{auth_base}authorize")},
                {"url": "token", "valueUri": format!("{auth_base}token")},
                {"url": "introspect", "valueUri": format!("{auth_base}introspect")},
                {"url": "revoke", "valueUri": format!("{auth_base}revoke")}
            ]
        }],
        "description": "Every request but metadata needs a bearer token. See .well-known/smart-configuration."
    })
}

/// `$validate` on every type, and the Patient operations of the data subject's rights.
fn with_operations(mut entry: Value) -> Value {
    let mut operations = vec![
        json!({"name": "validate", "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate",
        "documentation": "POST: checks a resource against R4 and the profile given, else as the tenant's writes are checked (R4 and meta.profile, or the Norwegian profile of the type); mode create, update or delete (with id); stores nothing."}),
    ];
    if entry["type"] == "Patient" {
        operations.push(json!({"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
             "documentation": "The patient's whole record, paged; _type and _since. A patient-context token runs it on its own record."}));
        operations.push(json!({"name": "erase", "definition": "http://helsebro.no/fhir/OperationDefinition/Patient-erase",
             "documentation": "POST: erasure on the controller's request, for the tenant's administrator (system/ delete scopes)."}));
        operations.push(json!({"name": "export", "definition": EXPORT_PATIENT,
             "documentation": "Bulk Data export of every patient's compartment (Patient, Observation, Communication, MedicationStatement), for backend services."}));
    }
    entry["operation"] = json!(operations);
    entry
}

/// The access log: read and search only, written by the server alone.
fn audit_event_entry() -> Value {
    let param = |name: &str, kind: &str, doc: &str| {
        json!({"name": name, "definition": format!("http://hl7.org/fhir/SearchParameter/AuditEvent-{name}"),
               "type": kind, "documentation": doc})
    };
    json!({
        "type": "AuditEvent",
        "profile": "http://hl7.org/fhir/StructureDefinition/AuditEvent",
        "documentation": "Every access to personal data. A patient-context token sees who accessed its patient's record; a system/ token of the tenant searches the whole log.",
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [
            param("patient", "reference", "Whose data the access touched"),
            param("agent", "reference", "Who accessed (Practitioner/ID or Patient/ID)"),
            param("date", "date", "When (eq, ge, gt, le, lt)"),
            param("action", "token", "C, R, U, D or E")
        ]
    })
}

/// `Type:param` for each reference parameter of `def`, and `*`.
fn search_includes(def: &ResourceDef) -> Vec<String> {
    let mut out: Vec<String> = def
        .search_params
        .iter()
        .filter(|p| p.kind == ParamKind::Reference)
        .map(|p| format!("{}:{}", def.type_name, p.name))
        .collect();
    out.push(format!("{}:*", def.type_name));
    out.push("*".into());
    out
}

/// `Source:param` for each reference parameter of a served type that can refer to `def`.
fn search_rev_includes(def: &ResourceDef) -> Vec<String> {
    SERVED
        .iter()
        .flat_map(|source| {
            source
                .search_params
                .iter()
                .filter(|p| p.kind == ParamKind::Reference)
                .filter(|p| p.targets.is_empty() || p.targets.contains(&def.type_name))
                .map(move |p| format!("{}:{}", source.type_name, p.name))
        })
        .collect()
}

/// The care panels: each Practitioner's patients as a Group, read-only, and their
/// Bulk Data export.
fn group_entry() -> Value {
    json!({
        "type": "Group",
        "profile": "http://hl7.org/fhir/StructureDefinition/Group",
        "documentation": "A practitioner's care panel (Group id = Practitioner id), computed from the care relationships; for system/ scopes.",
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [{"name": "_id", "definition": "http://hl7.org/fhir/SearchParameter/Resource-id",
            "type": "token", "documentation": "The Practitioner id"}],
        "operation": [{"name": "export", "definition": EXPORT_GROUP,
            "documentation": "Bulk Data export of the panel's patients' compartments, for backend services."}]
    })
}

/// A served type: its interactions and search parameters from the registry, and the
/// profiles its writes are validated against.
fn resource_entry(def: &ResourceDef, supported_profiles: Vec<&'static str>) -> Value {
    let mut entry = json!({
        "type": def.type_name,
        "profile": format!("http://hl7.org/fhir/StructureDefinition/{}", def.type_name),
        "interaction": def.interactions.iter().map(|i| json!({"code": i.code()})).collect::<Vec<_>>(),
        "versioning": "versioned-update",
        "readHistory": true,
        "updateCreate": true,
        "conditionalCreate": true,
        "conditionalRead": "not-supported",
        "conditionalUpdate": false,
        "conditionalDelete": "not-supported",
        "searchInclude": search_includes(def),
        "searchRevInclude": search_rev_includes(def),
        "searchParam": def.all_search_params().map(|p| json!({
            "name": p.name,
            "definition": p.definition,
            "type": p.kind.code(),
            "documentation": p.documentation
        })).collect::<Vec<_>>()
    });
    if !supported_profiles.is_empty() {
        entry["supportedProfile"] = json!(supported_profiles);
    }
    entry
}
