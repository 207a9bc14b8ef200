//! The platform export format: one JSON object a line, tagged by `type`.

use helsebro_mappings::codes::{kind_by_key, MeasurementKind};
use helsebro_mappings::communication::{communication_to_fhir, MessageRecord};
use helsebro_mappings::medication_statement::{medication_statement_to_fhir, MedicationPlanRecord};
use helsebro_mappings::observation::{observation_to_fhir, MeasurementRecord, MeasurementSource};
use helsebro_mappings::organization::{organization_to_fhir, OrganizationRecord};
use helsebro_mappings::patient::{patient_to_fhir, Gender, HomeAddress, PatientRecord};
use helsebro_mappings::practitioner::{practitioner_to_fhir, PractitionerRecord};
use helsebro_profiles::identifiers;
use serde::Deserialize;
use serde_json::Value;

use crate::served::ServedType;
use crate::tenant::Tenant;

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ImportLine {
    Patient(PatientLine),
    Practitioner(PractitionerLine),
    Organization(OrganizationLine),
    Measurement(MeasurementLine),
    Message(MessageLine),
    MedicationPlan(MedicationPlanLine),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PractitionerLine {
    pub id: String,
    pub hpr_number: Option<String>,
    pub family_name: Option<String>,
    pub given_names: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationLine {
    pub id: String,
    pub org_number: Option<String>,
    pub name: Option<String>,
    pub her_id: Option<String>,
    pub municipality_code: Option<String>,
    pub active: Option<bool>,
}

/// One home measurement or questionnaire score.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasurementLine {
    pub id: String,
    /// The platform id of the patient (imported before, or already on the server).
    pub patient: String,
    /// A key of the code table: blood_pressure, heart_rate, oxygen_saturation,
    /// body_temperature, body_weight, respiratory_rate, blood_glucose, questionnaire_score.
    pub kind: String,
    pub value: Option<f64>,
    /// The diastolic pressure of a blood pressure.
    pub value2: Option<f64>,
    /// UCUM code; the kind's canonical unit when left out.
    pub unit: Option<String>,
    /// For questionnaire scores: the score's code (`system|code` or `code`) and text.
    pub score_code: Option<String>,
    pub score_text: Option<String>,
    /// FHIR dateTime of the measurement.
    pub time: String,
    pub source: Option<String>,
    #[serde(default = "final_status")]
    pub status: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageLine {
    pub id: String,
    pub patient: String,
    /// A reference such as `Patient/p1` or `Practitioner/x`.
    pub sender: String,
    pub recipients: Vec<String>,
    pub text: String,
    pub sent: String,
    /// The id of the message this one answers.
    pub in_response_to: Option<String>,
    pub category: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MedicationPlanLine {
    pub id: String,
    pub patient: String,
    pub fest_code: Option<String>,
    pub atc_code: Option<String>,
    pub medication_text: Option<String>,
    pub dosage_text: Option<String>,
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    #[serde(default = "active_status")]
    pub status: String,
    pub prescriber: Option<String>,
}

fn final_status() -> String {
    "final".into()
}

fn active_status() -> String {
    "active".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatientLine {
    /// The platform's own id for the patient; becomes the resource id.
    pub id: String,
    pub national_id: Option<String>,
    pub family_name: Option<String>,
    pub given_names: Option<String>,
    pub middle_name: Option<String>,
    pub birth_date: Option<String>,
    pub gender: Option<String>,
    pub address: Option<AddressLine>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub active: Option<bool>,
    #[serde(default)]
    pub deceased: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressLine {
    #[serde(default)]
    pub lines: Vec<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub municipality_name: Option<String>,
    pub municipality_code: Option<String>,
}

impl ImportLine {
    pub fn target(&self) -> (ServedType, String) {
        match self {
            ImportLine::Patient(l) => (ServedType::Patient, l.id.clone()),
            ImportLine::Practitioner(l) => (ServedType::Practitioner, l.id.clone()),
            ImportLine::Organization(l) => (ServedType::Organization, l.id.clone()),
            ImportLine::Measurement(l) => (ServedType::Observation, l.id.clone()),
            ImportLine::Message(l) => (ServedType::Communication, l.id.clone()),
            ImportLine::MedicationPlan(l) => (ServedType::MedicationStatement, l.id.clone()),
        }
    }

    /// The resource the record describes, keeping what `base` holds beyond the record.
    pub fn into_resource(self, base: Option<&Value>, tenant: &Tenant) -> Result<Value, String> {
        let ctx = tenant.mapping_context();
        Ok(match self {
            ImportLine::Patient(l) => patient_to_fhir(&l.into_record(tenant)?, base, &ctx),
            ImportLine::Practitioner(l) => {
                let record = PractitionerRecord {
                    hpr_number: l.hpr_number,
                    national_id: None,
                    family_name: l.family_name,
                    given_names: l.given_names,
                    email: l.email,
                    phone: l.phone,
                    active: l.active,
                };
                practitioner_to_fhir(&record, base, &ctx)
            }
            ImportLine::Organization(l) => {
                let record = OrganizationRecord {
                    org_number: l.org_number,
                    name: l.name,
                    her_id: l.her_id,
                    municipality_code: l.municipality_code,
                    active: l.active,
                };
                organization_to_fhir(&record, base, &ctx)
            }
            ImportLine::Measurement(l) => observation_to_fhir(&l.into_record()?, base, &ctx),
            ImportLine::Message(l) => {
                let record = MessageRecord {
                    patient_id: Some(l.patient),
                    thread_id: l.in_response_to,
                    sender: Some(l.sender),
                    recipients: l.recipients,
                    text: Some(l.text),
                    attachment_count: 0,
                    sent: Some(l.sent),
                    received: None,
                    status: "completed".into(),
                    category: l.category.or(Some("message".into())),
                };
                communication_to_fhir(&record, base, &ctx)
            }
            ImportLine::MedicationPlan(l) => {
                let record = MedicationPlanRecord {
                    patient_id: Some(l.patient),
                    fest_code: l.fest_code,
                    atc_code: l.atc_code,
                    medication_text: l.medication_text,
                    dosage_text: l.dosage_text,
                    period_start: l.period_start,
                    period_end: l.period_end,
                    status: l.status,
                    information_source: l.prescriber,
                    ..Default::default()
                };
                medication_statement_to_fhir(&record, base, &ctx)
            }
        })
    }
}

impl PatientLine {
    fn into_record(self, tenant: &Tenant) -> Result<PatientRecord, String> {
        let national_id = self
            .national_id
            .map(|n| {
                identifiers::check_person_number(&n, tenant.is_test)
                    .map_err(|e| format!("national_id: {e}"))
            })
            .transpose()?;
        let gender = self
            .gender
            .map(|g| {
                Gender::from_code(&g).ok_or(format!(
                    "gender: '{g}' is not male, female, other or unknown"
                ))
            })
            .transpose()?;
        Ok(PatientRecord {
            national_id,
            family_name: self.family_name,
            given_names: self.given_names,
            middle_name: self.middle_name,
            birth_date: self.birth_date,
            gender,
            address: self.address.map(|a| HomeAddress {
                lines: a.lines,
                postal_code: a.postal_code,
                city: a.city,
                municipality_name: a.municipality_name,
                municipality_code: a.municipality_code,
            }),
            phone: self.phone,
            email: self.email,
            active: self.active,
            deceased: self.deceased,
        })
    }
}

impl MeasurementLine {
    fn into_record(self) -> Result<MeasurementRecord, String> {
        let codes = kind_by_key(&self.kind).ok_or_else(|| {
            format!(
                "kind: '{}' is not a measurement kind of the code table",
                self.kind
            )
        })?;
        let score_code = self.score_code.map(|c| match c.split_once('|') {
            Some((system, code)) => (Some(system.to_string()), code.to_string()),
            None => (None, c),
        });
        if codes.kind == MeasurementKind::QuestionnaireScore && score_code.is_none() {
            return Err("score_code: a questionnaire score needs the score's code".into());
        }
        let source = match self.source.as_deref() {
            None => None,
            Some("device") => Some(MeasurementSource::Device),
            Some("patient") => Some(MeasurementSource::Patient),
            Some("clinician") => Some(MeasurementSource::Clinician),
            Some(other) => {
                return Err(format!(
                    "source: '{other}' is not device, patient or clinician"
                ))
            }
        };
        let unit = self
            .unit
            .or_else(|| codes.ucum.first().map(|u| u.to_string()));
        Ok(MeasurementRecord {
            patient_id: Some(self.patient),
            kind: Some(codes.kind),
            status: self.status,
            value: self.value,
            value2: self.value2,
            unit: if codes.kind == MeasurementKind::QuestionnaireScore {
                None
            } else {
                unit
            },
            score_code,
            score_text: self.score_text,
            effective_start: Some(self.time),
            source,
            ..Default::default()
        })
    }
}
