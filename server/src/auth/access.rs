//! What a verified token lets a request do: its tenant, and for each resource type and
//! permission, which resources it reaches.

use super::scopes::{Context, Grant, Permission, Scopes};
use crate::store::{Store, StoreError};
use crate::tenant::Tenant;

/// The types in the Patient compartment among those served, with the search parameter that
/// ties a resource to its patient.
const COMPARTMENT: &[(&str, &str)] = &[
    ("Patient", "_id"),
    ("Observation", "patient"),
    ("Communication", "patient"),
    ("MedicationStatement", "patient"),
    ("AuditEvent", "patient"),
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
    /// For a practitioner user: the patients in whose care they take part.
    pub care_patients: Vec<String>,
    /// The thumbprint of the key a DPoP-bound token is bound to (`cnf.jkt`).
    pub bound_to: Option<String>,
    /// Why the user accesses the data, when the token says (e.g. `TREAT`): logged.
    pub purpose_of_use: Option<String>,
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
    /// Loads the care relationships a practitioner user's `user/` scopes follow.
    pub async fn with_care(mut self, store: &Store) -> Result<Self, StoreError> {
        if self.scopes.contexts().contains(&Context::User) {
            if let Some(practitioner) = self.practitioner() {
                self.care_patients = store.care_patients(&self.tenant.id, practitioner).await?;
            }
        }
        Ok(self)
    }

    /// `None` when no scope grants `permission` on `resource_type`.
    ///
    /// System scopes reach the whole tenant. User scopes reach the compartments of the
    /// patients the practitioner user has a care relationship with (nothing without a
    /// practitioner user); patient scopes reach the launch patient's compartment. Types
    /// outside the compartment (Practitioner, Organization) are reached whole. The
    /// broadest grant wins. A granular scope's query narrows what it reaches. Several
    /// granular scopes for one type that each restrict the same single parameter reach
    /// the union of their values; other combinations cannot be one search, and only the
    /// first applies, which may show less than the token allows but never more.
    pub fn reach(&self, resource_type: &str, permission: Permission) -> Option<Reach> {
        let mut best: Option<Reach> = None;
        for context in [Context::System, Context::User, Context::Patient] {
            let patients: &[String] = match context {
                Context::System => &[],
                Context::Patient => self.patient.as_slice(),
                Context::User => &self.care_patients,
            };
            let mut only = match (context, self.compartment_param(resource_type)) {
                (Context::System, _) | (_, None) => Vec::new(),
                // Patient scopes without a launch patient, and user scopes of a user in
                // nobody's care, reach no compartment.
                (_, Some(_)) if patients.is_empty() => continue,
                (_, Some(param)) => vec![(param.to_string(), compartment_values(param, patients))],
            };
            if context == Context::User && self.practitioner().is_none() {
                continue;
            }
            // A practitioner's care does not extend to who else looked at the record: the
            // access log is for the patient and the tenant's auditor.
            if context == Context::User && resource_type == "AuditEvent" {
                continue;
            }
            match self.scopes.grant(context, resource_type, permission) {
                Grant::Denied => continue,
                Grant::All => {}
                Grant::Matching(queries) => only.extend(union_of(queries)),
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

    /// The practitioner id of a `Practitioner/…` user.
    pub fn practitioner(&self) -> Option<&str> {
        self.fhir_user.as_deref()?.strip_prefix("Practitioner/")
    }

    fn compartment_param(&self, resource_type: &str) -> Option<&'static str> {
        COMPARTMENT
            .iter()
            .find(|(t, _)| *t == resource_type)
            .map(|(_, p)| *p)
    }
}

/// One search for what several granular queries reach: on one parameter, their values
/// ORed (a comma in FHIR search); otherwise the first query.
fn union_of(queries: Vec<Vec<(String, String)>>) -> Vec<(String, String)> {
    let one_param = queries.first().and_then(|q| match q.as_slice() {
        [(name, _)] => Some(name.clone()),
        _ => None,
    });
    match one_param {
        Some(name) if queries.iter().all(|q| q.len() == 1 && q[0].0 == name) => {
            let values: Vec<String> = queries.into_iter().map(|mut q| q.remove(0).1).collect();
            vec![(name, values.join(","))]
        }
        _ => queries.into_iter().next().unwrap_or_default(),
    }
}

/// The search value that matches any of `patients` (a comma is an OR in FHIR search).
fn compartment_values(param: &str, patients: &[String]) -> String {
    let each = patients.iter().map(|p| {
        if param == "_id" {
            p.clone()
        } else {
            format!("Patient/{p}")
        }
    });
    each.collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::union_of;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn queries_on_one_parameter_reach_the_union() {
        assert_eq!(
            union_of(vec![
                q(&[("category", "vital-signs")]),
                q(&[("category", "laboratory")])
            ]),
            q(&[("category", "vital-signs,laboratory")])
        );
    }

    #[test]
    fn other_combinations_keep_the_first_query() {
        let first = q(&[("category", "vital-signs")]);
        assert_eq!(
            union_of(vec![first.clone(), q(&[("code", "8867-4")])]),
            first
        );
        let two = q(&[("category", "vital-signs"), ("status", "final")]);
        assert_eq!(union_of(vec![two.clone(), first.clone()]), two);
        assert_eq!(union_of(vec![]), q(&[]));
    }
}
