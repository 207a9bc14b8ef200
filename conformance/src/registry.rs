use helsebro_mappings::index::{ParamKind, SearchParamDef, PARAM};
use helsebro_mappings::{
    communication, medication_statement, observation, organization, patient, practitioner,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interaction {
    Read,
    Vread,
    Update,
    Delete,
    HistoryInstance,
    HistoryType,
    Create,
    SearchType,
}

impl Interaction {
    pub fn code(self) -> &'static str {
        match self {
            Interaction::Read => "read",
            Interaction::Vread => "vread",
            Interaction::Update => "update",
            Interaction::Delete => "delete",
            Interaction::HistoryInstance => "history-instance",
            Interaction::HistoryType => "history-type",
            Interaction::Create => "create",
            Interaction::SearchType => "search-type",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ResourceDef {
    pub type_name: &'static str,
    pub search_params: &'static [SearchParamDef],
    pub interactions: &'static [Interaction],
}

/// Parameters every type supports, answered from the resource table itself.
pub const COMMON_PARAMS: &[SearchParamDef] = &[
    SearchParamDef {
        name: "_id",
        kind: ParamKind::Token,
        paths: &[],
        definition: "http://hl7.org/fhir/SearchParameter/Resource-id",
        documentation: "Logical id of the resource",
        ..PARAM
    },
    SearchParamDef {
        name: "_lastUpdated",
        kind: ParamKind::Date,
        paths: &[],
        definition: "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated",
        documentation: "When the resource version last changed",
        ..PARAM
    },
];

/// Parameters every type supports on the resource's `meta`, indexed like the type's own.
pub const META_PARAMS: &[SearchParamDef] = &[
    SearchParamDef {
        name: "_profile",
        kind: ParamKind::Uri,
        paths: &["meta.profile"],
        definition: "http://hl7.org/fhir/SearchParameter/Resource-profile",
        documentation: "Profiles this resource claims to conform to",
        ..PARAM
    },
    SearchParamDef {
        name: "_tag",
        kind: ParamKind::Token,
        paths: &["meta.tag"],
        definition: "http://hl7.org/fhir/SearchParameter/Resource-tag",
        documentation: "Tags applied to this resource",
        ..PARAM
    },
    SearchParamDef {
        name: "_security",
        kind: ParamKind::Token,
        paths: &["meta.security"],
        definition: "http://hl7.org/fhir/SearchParameter/Resource-security",
        documentation: "Security labels applied to this resource",
        ..PARAM
    },
];

const ALL_INTERACTIONS: &[Interaction] = &[
    Interaction::Read,
    Interaction::Vread,
    Interaction::Update,
    Interaction::Delete,
    Interaction::HistoryInstance,
    Interaction::HistoryType,
    Interaction::Create,
    Interaction::SearchType,
];

/// Whole-system interactions served (`POST [base]` with a batch or transaction Bundle,
/// `GET [base]?…`, `GET [base]/_history`).
pub const SYSTEM_INTERACTIONS: &[&str] =
    &["transaction", "batch", "search-system", "history-system"];

/// FHIR Bulk Data Access 2.0 `$export` (kick-off `[base]/$export`, `Patient/$export`,
/// `Group/[id]/$export`): the canonical of each level's OperationDefinition.
pub const EXPORT_SYSTEM: &str = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export";
pub const EXPORT_PATIENT: &str =
    "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export";
pub const EXPORT_GROUP: &str = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export";

pub const SERVED: &[ResourceDef] = &[
    ResourceDef {
        type_name: "Patient",
        search_params: patient::SEARCH_PARAMS,
        interactions: ALL_INTERACTIONS,
    },
    ResourceDef {
        type_name: "Observation",
        search_params: observation::SEARCH_PARAMS,
        interactions: ALL_INTERACTIONS,
    },
    ResourceDef {
        type_name: "Communication",
        search_params: communication::SEARCH_PARAMS,
        interactions: ALL_INTERACTIONS,
    },
    ResourceDef {
        type_name: "MedicationStatement",
        search_params: medication_statement::SEARCH_PARAMS,
        interactions: ALL_INTERACTIONS,
    },
    ResourceDef {
        type_name: "Practitioner",
        search_params: practitioner::SEARCH_PARAMS,
        interactions: ALL_INTERACTIONS,
    },
    ResourceDef {
        type_name: "Organization",
        search_params: organization::SEARCH_PARAMS,
        interactions: ALL_INTERACTIONS,
    },
];

pub fn find(type_name: &str) -> Option<&'static ResourceDef> {
    SERVED.iter().find(|d| d.type_name == type_name)
}

/// A contained resource of a served type, indexed for `_contained` searches.
#[derive(Debug, Clone)]
pub struct ContainedIndex {
    pub resource_type: &'static str,
    pub id: String,
    pub index: Vec<helsebro_mappings::index::IndexEntry>,
}

/// The contained resources of `resource` that are of a served type, each with its index
/// entries. One without an id (which FHIR forbids) or whose id repeats is left out: it
/// could not be told apart in a result.
pub fn contained_index(resource: &serde_json::Value) -> Vec<ContainedIndex> {
    let mut out: Vec<ContainedIndex> = Vec::new();
    for contained in resource["contained"].as_array().into_iter().flatten() {
        let (Some(type_name), Some(id)) =
            (contained["resourceType"].as_str(), contained["id"].as_str())
        else {
            continue;
        };
        let Some(def) = find(type_name) else { continue };
        if out.iter().any(|c| c.id == id) {
            continue;
        }
        out.push(ContainedIndex {
            resource_type: def.type_name,
            id: id.to_string(),
            index: def.index(contained),
        });
    }
    out
}

impl ResourceDef {
    pub fn search_param(&self, name: &str) -> Option<&'static SearchParamDef> {
        self.all_search_params().find(|p| p.name == name)
    }

    /// The common, meta and type parameters, in the CapabilityStatement's order.
    pub fn all_search_params(&self) -> impl Iterator<Item = &'static SearchParamDef> {
        COMMON_PARAMS
            .iter()
            .chain(META_PARAMS.iter())
            .chain(self.search_params.iter())
    }

    /// Every index entry of `resource` (the type's parameters and the meta ones).
    pub fn index(&self, resource: &serde_json::Value) -> Vec<helsebro_mappings::index::IndexEntry> {
        let mut out = helsebro_mappings::index::extract(resource, self.search_params);
        out.extend(helsebro_mappings::index::extract(resource, META_PARAMS));
        out
    }

    pub fn supports(&self, interaction: Interaction) -> bool {
        self.interactions.contains(&interaction)
    }
}
