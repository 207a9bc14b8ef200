//! Per-type dispatch for the resources Helsebro serves: which mapping checks a resource,
//! and which platform record a write changes.

use helsebro_conformance::registry::{self, ResourceDef};
use helsebro_mappings::{
    communication, medication_statement, observation, organization, patient, practitioner,
    MappingError,
};
use serde_json::Value;

use crate::store::records::{
    measurement_columns, medication_plan_columns, message_columns, organization_columns,
    patient_columns, practitioner_columns,
};
use crate::store::{StoreError, WriteTx};
use crate::tenant::Tenant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServedType {
    Patient,
    Observation,
    Communication,
    MedicationStatement,
    Practitioner,
    Organization,
}

/// The platform record a resource maps to.
#[derive(Debug, Clone)]
pub enum Record {
    Patient(patient::PatientRecord),
    Measurement(observation::MeasurementRecord),
    Message(communication::MessageRecord),
    MedicationPlan(medication_statement::MedicationPlanRecord),
    Practitioner(practitioner::PractitionerRecord),
    Organization(organization::OrganizationRecord),
}

impl ServedType {
    pub const ALL: [ServedType; 6] = [
        ServedType::Patient,
        ServedType::Observation,
        ServedType::Communication,
        ServedType::MedicationStatement,
        ServedType::Practitioner,
        ServedType::Organization,
    ];

    /// The patient and the types of their compartment: a patient's record.
    pub const PATIENT_RECORD: [ServedType; 4] = [
        ServedType::Patient,
        ServedType::Observation,
        ServedType::Communication,
        ServedType::MedicationStatement,
    ];

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            ServedType::Patient => "Patient",
            ServedType::Observation => "Observation",
            ServedType::Communication => "Communication",
            ServedType::MedicationStatement => "MedicationStatement",
            ServedType::Practitioner => "Practitioner",
            ServedType::Organization => "Organization",
        }
    }

    /// The platform table holding this type's records.
    pub fn record_table(self) -> &'static str {
        match self {
            ServedType::Patient => "patients",
            ServedType::Observation => "measurements",
            ServedType::Communication => "messages",
            ServedType::MedicationStatement => "medication_plans",
            ServedType::Practitioner => "practitioners",
            ServedType::Organization => "organizations",
        }
    }

    pub fn def(self) -> &'static ResourceDef {
        registry::find(self.name()).expect("every served type is in the registry")
    }

    pub fn to_record(self, resource: &Value, tenant: &Tenant) -> Result<Record, MappingError> {
        let ctx = tenant.mapping_context();
        Ok(match self {
            ServedType::Patient => Record::Patient(patient::patient_from_fhir(resource, &ctx)?),
            ServedType::Observation => {
                Record::Measurement(observation::observation_from_fhir(resource, &ctx)?)
            }
            ServedType::Communication => {
                Record::Message(communication::communication_from_fhir(resource, &ctx)?)
            }
            ServedType::MedicationStatement => Record::MedicationPlan(
                medication_statement::medication_statement_from_fhir(resource, &ctx)?,
            ),
            ServedType::Practitioner => {
                Record::Practitioner(practitioner::practitioner_from_fhir(resource, &ctx)?)
            }
            ServedType::Organization => {
                Record::Organization(organization::organization_from_fhir(resource, &ctx)?)
            }
        })
    }
}

impl Record {
    fn served(&self) -> ServedType {
        match self {
            Record::Patient(_) => ServedType::Patient,
            Record::Measurement(_) => ServedType::Observation,
            Record::Message(_) => ServedType::Communication,
            Record::MedicationPlan(_) => ServedType::MedicationStatement,
            Record::Practitioner(_) => ServedType::Practitioner,
            Record::Organization(_) => ServedType::Organization,
        }
    }

    fn columns(&self) -> Vec<(&'static str, crate::store::sql::Arg)> {
        match self {
            Record::Patient(r) => patient_columns(r),
            Record::Measurement(r) => measurement_columns(r),
            Record::Message(r) => message_columns(r),
            Record::MedicationPlan(r) => medication_plan_columns(r),
            Record::Practitioner(r) => practitioner_columns(r),
            Record::Organization(r) => organization_columns(r),
        }
    }
}

impl WriteTx {
    /// Saves the records of many resources (distinct `(type, id)`), a statement per table.
    pub async fn save_records(
        &mut self,
        tenant_id: &str,
        records: &[(&str, &Record)],
    ) -> Result<(), StoreError> {
        for served in ServedType::ALL {
            let rows: Vec<_> = records
                .iter()
                .filter(|(_, r)| r.served() == served)
                .map(|(id, r)| (*id, r.columns()))
                .collect();
            self.upsert_records(served.record_table(), tenant_id, rows)
                .await?;
        }
        Ok(())
    }

    pub async fn delete_record(
        &mut self,
        served: ServedType,
        tenant_id: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        self.mark_record_deleted(served.record_table(), tenant_id, id)
            .await
    }
}
