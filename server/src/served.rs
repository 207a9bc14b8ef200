//! Per-type dispatch for the resources Helsebro serves: which mapping checks a resource,
//! and which platform record a write changes.

use helsebro_conformance::registry::{self, ResourceDef};
use helsebro_mappings::patient::{self, PatientRecord};
use helsebro_mappings::MappingError;
use serde_json::Value;

use crate::store::{StoreError, WriteTx};
use crate::tenant::Tenant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServedType {
    Patient,
}

/// The platform record a resource maps to.
#[derive(Debug, Clone)]
pub enum Record {
    Patient(PatientRecord),
}

impl ServedType {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "Patient" => Some(ServedType::Patient),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ServedType::Patient => "Patient",
        }
    }

    pub fn def(self) -> &'static ResourceDef {
        registry::find(self.name()).expect("every served type is in the registry")
    }

    pub fn to_record(self, resource: &Value, tenant: &Tenant) -> Result<Record, MappingError> {
        match self {
            ServedType::Patient => {
                patient::patient_from_fhir(resource, &tenant.mapping_context()).map(Record::Patient)
            }
        }
    }
}

impl WriteTx {
    pub async fn save_record(
        &mut self,
        tenant_id: &str,
        id: &str,
        record: &Record,
    ) -> Result<(), StoreError> {
        match record {
            Record::Patient(p) => self.upsert_patient(tenant_id, id, p).await,
        }
    }

    pub async fn delete_record(
        &mut self,
        served: ServedType,
        tenant_id: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        match served {
            ServedType::Patient => self.mark_patient_deleted(tenant_id, id).await,
        }
    }
}
