//! Access-log rows as FHIR AuditEvents. An auditor sees everything recorded; a patient
//! sees who looked at their record by name and role, not internal ids, client ids or
//! network addresses.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use crate::auth::pages::person_name;
use crate::auth::tokens::OPERATOR_CLIENT;
use crate::store::audit::ChainedRecord;
use crate::store::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Auditor,
    Patient,
}

const HPR_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.4.4";

/// Names and HPR numbers of the people and apps in a page of rows, each looked up once.
pub struct Names<'a> {
    store: &'a Store,
    tenant_id: &'a str,
    people: HashMap<String, (Option<String>, Option<String>)>,
    clients: HashMap<String, Option<String>>,
}

impl<'a> Names<'a> {
    pub fn new(store: &'a Store, tenant_id: &'a str) -> Self {
        Names {
            store,
            tenant_id,
            people: HashMap::new(),
            clients: HashMap::new(),
        }
    }

    /// Name and HPR number of `Practitioner/ID` or `Patient/ID`.
    async fn person(
        &mut self,
        reference: &str,
    ) -> Result<(Option<String>, Option<String>), StoreError> {
        if let Some(found) = self.people.get(reference) {
            return Ok(found.clone());
        }
        let mut found = (None, None);
        if let Some((kind, id)) = reference.split_once('/') {
            let current = self.store.read_current(self.tenant_id, kind, id).await?;
            found.0 = current.and_then(|c| c.json).map(|j| person_name(&j));
            if kind == "Practitioner" {
                found.1 = self.store.practitioner_hpr(self.tenant_id, id).await?;
            }
        }
        self.people.insert(reference.to_string(), found.clone());
        Ok(found)
    }

    async fn client(&mut self, client_id: &str) -> Result<Option<String>, StoreError> {
        if let Some(found) = self.clients.get(client_id) {
            return Ok(found.clone());
        }
        let name = if client_id == OPERATOR_CLIENT {
            Some("Helsebro (driftsverktøy)".to_string())
        } else if client_id == crate::delivery::transmit_log::DELIVERY_AGENT {
            Some("Helsebro (dokumentsending)".to_string())
        } else {
            self.store.client(client_id).await?.map(|c| c.name)
        };
        self.clients.insert(client_id.to_string(), name.clone());
        Ok(name)
    }
}

fn role_of(user: Option<&str>) -> &'static str {
    match user.and_then(|u| u.split_once('/')).map(|(kind, _)| kind) {
        Some("Practitioner") => "Helsepersonell",
        Some("Patient") => "Pasient",
        Some(_) => "Bruker",
        None => "System",
    }
}

pub async fn to_fhir(
    row: &ChainedRecord,
    view: View,
    names: &mut Names<'_>,
) -> Result<Value, StoreError> {
    let r = &row.record;
    let recorded = helsebro_mappings::dates::format_instant(r.recorded);
    let full = view == View::Auditor;
    let mut agents = Vec::new();
    if let Some(user) = r.agent_user.as_deref() {
        let (name, hpr) = names.person(user).await?;
        let mut who = json!({"display": name.unwrap_or_else(|| "(ukjent person)".into())});
        if full {
            who["reference"] = json!(user);
            if let Some(hpr) = hpr {
                who["identifier"] = json!({"system": HPR_SYSTEM, "value": hpr});
            }
        }
        let mut agent = json!({
            "role": [{"text": role_of(Some(user))}],
            "who": who,
            "requestor": true
        });
        if let (true, Some(address)) = (full, &r.source) {
            agent["network"] = json!({"address": address, "type": "2"});
        }
        agents.push(agent);
    }
    match r.agent_client.as_deref() {
        Some(client) => {
            let name = names.client(client).await?;
            let mut who = json!({"display": name.unwrap_or_else(|| "(ukjent app)".into())});
            if full {
                who["identifier"] = json!({"value": client});
            }
            let mut agent = json!({
                "role": [{"text": if r.agent_user.is_some() { "Applikasjon" } else { role_of(None) }}],
                "who": who,
                "requestor": r.agent_user.is_none()
            });
            if let (true, true, Some(address)) = (full, r.agent_user.is_none(), &r.source) {
                agent["network"] = json!({"address": address, "type": "2"});
            }
            agents.push(agent);
        }
        None if agents.is_empty() => {
            let mut agent = json!({
                "role": [{"text": "Ukjent (uten gyldig tilgang)"}],
                "who": {"display": "(ukjent)"},
                "requestor": true
            });
            if let (true, Some(address)) = (full, &r.source) {
                agent["network"] = json!({"address": address, "type": "2"});
            }
            agents.push(agent);
        }
        None => {}
    }
    let mut entities: Vec<Value> = r
        .patients
        .iter()
        .map(|p| {
            json!({
                "what": {"reference": format!("Patient/{p}")},
                "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person"},
                "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient"}
            })
        })
        .collect();
    match r.entity.as_deref() {
        Some(query) if query.contains('?') => entities.push(json!({
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object"},
            "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "24", "display": "Query"},
            "description": query,
            "query": STANDARD.encode(query)
        })),
        Some(reference) if !r.patients.iter().any(|p| reference == format!("Patient/{p}")) => {
            entities.push(json!({"what": {"reference": reference}}))
        }
        _ => {}
    }
    let (type_coding, subtype_coding) = if r.type_code == "transmit" {
        (
            json!({"system": "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle", "code": "transmit", "display": "Transmit Record Lifecycle Event"}),
            json!({"system": "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle", "code": "transmit", "display": "Transmit Record Lifecycle Event"}),
        )
    } else if r.type_code == "login" {
        (
            json!({"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110114", "display": "User Authentication"}),
            json!({"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110122", "display": "Login"}),
        )
    } else {
        (
            json!({"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation"}),
            json!({"system": "http://hl7.org/fhir/restful-interaction", "code": r.subtype}),
        )
    };
    let mut event = json!({
        "resourceType": "AuditEvent",
        "id": r.id,
        "meta": {"lastUpdated": recorded},
        "type": type_coding,
        "subtype": [subtype_coding],
        "action": r.action,
        "recorded": recorded,
        "outcome": r.outcome,
        "agent": agents,
        "source": {
            "observer": {"display": "Helsebro"},
            "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4", "display": "Application Server"}]
        }
    });
    if let Some(desc) = &r.outcome_desc {
        event["outcomeDesc"] = json!(desc);
    }
    if let Some(purpose) = &r.purpose {
        event["purposeOfEvent"] = json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": purpose}]}]);
    }
    if !entities.is_empty() {
        event["entity"] = json!(entities);
    }
    Ok(event)
}
