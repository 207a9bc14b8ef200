//! Whose data a resource is: the patient a log row names.

use helsebro_mappings::index::{self, IndexValue};
use serde_json::Value;

use crate::served::ServedType;

/// The id of the patient `resource` belongs to: itself for a Patient, its `patient`
/// search parameter's reference for the types in the compartment, none otherwise.
pub fn patient_of(served: ServedType, resource: &Value) -> Option<String> {
    if served == ServedType::Patient {
        return resource["id"].as_str().map(str::to_string);
    }
    patient_in_index(&index::extract(resource, served.def().search_params))
}

/// The patient a resource's extracted index names (its `patient` parameter): for a write,
/// which has extracted it already.
pub fn patient_in_index(index: &[index::IndexEntry]) -> Option<String> {
    index
        .iter()
        .filter(|e| e.param == "patient")
        .find_map(|e| match &e.value {
            IndexValue::Reference {
                target_type: Some(t),
                target_id: Some(id),
                ..
            } if t == "Patient" => Some(id.clone()),
            _ => None,
        })
}

/// The same from stored JSON text.
pub fn patient_of_json(served: ServedType, json: &str) -> Option<String> {
    serde_json::from_str::<Value>(json)
        .ok()
        .and_then(|v| patient_of(served, &v))
}
