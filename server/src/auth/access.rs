//! What a verified token lets a request do: its tenant, and for each resource type and
//! permission, which resources it reaches.

use super::scopes::{Context, Grant, Permission, Scopes};
use crate::tenant::Tenant;

/// The types in the Patient compartment among those served, with the search parameter that
/// ties a resource to its patient.
const COMPARTMENT: &[(&str, &str)] = &[
    ("Patient", "_id"),
    ("Observation", "patient"),
    ("Communication", "patient"),
    ("MedicationStatement", "patient"),
];

/// A verified token's rights.
#[derive(Debug, Clone)]
pub struct Access {
    pub tenant: Tenant,
    pub client_id: String,
    pub subject: String,
    pub scopes: Scopes,
    /// The launch patient of a patient-context token.
    pub patient: Option<String>,
    pub fhir_user: Option<String>,
}

/// Which resources of one type a request reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// Only those matching each of these search parameters (the patient compartment of a
    /// patient-context token, a granular scope's query); empty: every resource of the
    /// tenant.
    pub only: Vec<(String, String)>,
}

impl Reach {
    pub fn everything(&self) -> bool {
        self.only.is_empty()
    }
}

impl Access {
    /// `None` when no scope grants `permission` on `resource_type`.
    ///
    /// System and user scopes reach the whole tenant; patient scopes reach the launch
    /// patient's compartment (and the types outside it, such as Practitioner, whole). The
    /// broadest grant wins. A granular scope's query narrows what it reaches; of several
    /// granular scopes for the same type only the first is applied, which may show less
    /// than the token allows but never more.
    pub fn reach(&self, resource_type: &str, permission: Permission) -> Option<Reach> {
        let mut best: Option<Reach> = None;
        for context in [Context::System, Context::User, Context::Patient] {
            let mut only = match (context, self.compartment_param(resource_type)) {
                (Context::Patient, Some(param)) => match &self.patient {
                    Some(patient) => vec![(param.to_string(), compartment_value(param, patient))],
                    // Patient scopes without a launch patient reach no compartment.
                    None => continue,
                },
                _ => Vec::new(),
            };
            match self.scopes.grant(context, resource_type, permission) {
                Grant::Denied => continue,
                Grant::All => {}
                Grant::Matching(queries) => {
                    only.extend(queries.into_iter().next().unwrap_or_default())
                }
            }
            let candidate = Reach { only };
            if best
                .as_ref()
                .is_none_or(|b| candidate.only.len() < b.only.len())
            {
                best = Some(candidate);
            }
        }
        best
    }

    fn compartment_param(&self, resource_type: &str) -> Option<&'static str> {
        COMPARTMENT
            .iter()
            .find(|(t, _)| *t == resource_type)
            .map(|(_, p)| *p)
    }
}

fn compartment_value(param: &str, patient: &str) -> String {
    if param == "_id" {
        patient.to_string()
    } else {
        format!("Patient/{patient}")
    }
}
