//! The platform export format: one JSON object a line, tagged by `type`.

use helsebro_mappings::patient::{patient_to_fhir, Gender, HomeAddress, PatientRecord};
use helsebro_profiles::identifiers;
use serde::Deserialize;
use serde_json::Value;

use crate::served::ServedType;
use crate::tenant::Tenant;

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ImportLine {
    Patient(PatientLine),
}

#[derive(Debug, Deserialize)]
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

#[derive(Debug, Deserialize)]
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
            ImportLine::Patient(p) => (ServedType::Patient, p.id.clone()),
        }
    }

    /// The resource the record describes, keeping what `base` holds beyond the record.
    pub fn into_resource(self, base: Option<&Value>, tenant: &Tenant) -> Result<Value, String> {
        match self {
            ImportLine::Patient(p) => {
                let record = p.into_record(tenant)?;
                Ok(patient_to_fhir(&record, base, &tenant.mapping_context()))
            }
        }
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
            .map(|g| Gender::from_code(&g).ok_or(format!("gender: '{g}' is not male, female, other or unknown")))
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
