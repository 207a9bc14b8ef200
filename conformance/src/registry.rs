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
/// `GET [base]/_history`).
pub const SYSTEM_INTERACTIONS: &[&str] = &["transaction", "batch", "history-system"];

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

impl ResourceDef {
    pub fn search_param(&self, name: &str) -> Option<&'static SearchParamDef> {
        COMMON_PARAMS
            .iter()
            .chain(self.search_params.iter())
            .find(|p| p.name == name)
    }

    pub fn supports(&self, interaction: Interaction) -> bool {
        self.interactions.contains(&interaction)
    }
}
