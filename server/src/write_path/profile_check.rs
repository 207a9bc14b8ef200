//! Which profile a write is validated against at the tenant's level, and the validation.
//!
//! At `core` a resource is checked against R4 and the profiles it claims (that we carry);
//! at `norwegian` against the Norwegian profile of its type, whatever it claims, because
//! the tenant promised its receivers that profile. A type without a carried Norwegian
//! profile (an Observation of a kind VKP does not profile) falls back to `core`.

use helsebro_mappings::codes::{self, MeasurementKind};
use helsebro_mappings::MappingIssue;
use helsebro_mappings::{communication, medication_statement, organization, patient, practitioner};
use helsebro_profiles::validate::{known_profiles, validate, Issue, Severity};
use serde_json::Value;

use crate::tenant::ValidationLevel;

/// The VKP 0.9.0 Observation profiles by measurement kind. The kinds' own profiles
/// (VkpObservation 0.5.2) are what fresh resources claim, but only the 0.9.0 snapshots are
/// carried, so those are what a Norwegian tenant's Observations are held to.
const VKP_V090_OBSERVATIONS: &[(MeasurementKind, &str)] = &[
    (
        MeasurementKind::BloodPressure,
        "http://ehelse.no/fhir/StructureDefinition/vkp-Observation-Bloodpressure-v090",
    ),
    (
        MeasurementKind::HeartRate,
        "http://hl7.no/fhir/StructureDefinition/vkp-Observation-Heartrate-v090",
    ),
    (
        MeasurementKind::OxygenSaturation,
        "http://hl7.no/fhir/StructureDefinition/vkp-Observation-Oxygensat-v090",
    ),
    (
        MeasurementKind::BodyTemperature,
        "http://hl7.no/fhir/StructureDefinition/vkp-Observation-Bodytemp-v090",
    ),
    (
        MeasurementKind::BodyWeight,
        "http://hl7.no/fhir/StructureDefinition/vkp-Observation-Bodyweight-v090",
    ),
];

/// The profile `resource` is validated against at `level`; `None` means R4 core and the
/// profiles it claims.
pub fn profile_for(level: ValidationLevel, resource: &Value) -> Option<&'static str> {
    if level == ValidationLevel::Core {
        return None;
    }
    let type_name = resource["resourceType"].as_str()?;
    // Asking `validate` for a profile it does not carry is itself an error; a profile not
    // (yet) carried means core, as for a type without one.
    let carried = norwegian_profiles(type_name);
    match type_name {
        "Observation" => observation_profile(resource).filter(|p| carried.contains(p)),
        _ => carried.first().copied(),
    }
}

/// Every profile writes of `type_name` may be validated against at `norwegian` that we
/// carry: what the CapabilityStatement lists as the type's `supportedProfile`.
pub fn norwegian_profiles(type_name: &str) -> Vec<&'static str> {
    let candidates: Vec<&'static str> = match type_name {
        "Patient" => vec![patient::PROFILE],
        "Practitioner" => vec![practitioner::PROFILE],
        "Organization" => vec![organization::PROFILE],
        "MedicationStatement" => vec![medication_statement::PROFILE],
        "Communication" => vec![communication::PROFILE],
        "Observation" => VKP_V090_OBSERVATIONS.iter().map(|(_, p)| *p).collect(),
        _ => Vec::new(),
    };
    let known = known_profiles();
    candidates
        .into_iter()
        .filter(|p| known.contains(p))
        .collect()
}

/// The VKP profile of the first coding in `Observation.code` that names a kind VKP
/// profiles.
fn observation_profile(resource: &Value) -> Option<&'static str> {
    resource["code"]["coding"]
        .as_array()?
        .iter()
        .filter_map(|c| codes::kind_of_coding(c["system"].as_str()?, c["code"].as_str()?))
        .find_map(|kind| {
            VKP_V090_OBSERVATIONS
                .iter()
                .find(|(k, _)| *k == kind.kind)
                .map(|(_, url)| *url)
        })
}

/// Every issue of `resource` at `level`, errors first (clients read the first issue as the
/// reason), when at least one is an error; `Ok` otherwise.
pub fn check(level: ValidationLevel, resource: &Value) -> Result<(), Vec<Issue>> {
    let mut issues = validate(resource, profile_for(level, resource));
    if issues.iter().any(|i| i.severity == Severity::Error) {
        issues.sort_by_key(|i| i.severity != Severity::Error);
        Err(issues)
    } else {
        Ok(())
    }
}

/// A platform rule's finding, as a validation issue.
pub fn business_rule(issue: MappingIssue) -> Issue {
    Issue {
        severity: Severity::Error,
        code: "business-rule",
        expression: issue.expression,
        message: issue.message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn core_never_names_a_profile() {
        let p = json!({"resourceType": "Patient"});
        assert_eq!(profile_for(ValidationLevel::Core, &p), None);
        assert_eq!(
            profile_for(ValidationLevel::Norwegian, &p),
            Some(patient::PROFILE)
        );
    }

    #[test]
    fn an_observation_gets_the_profile_of_its_kind_when_carried() {
        let bp = json!({"resourceType": "Observation",
            "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]}});
        assert_eq!(
            profile_for(ValidationLevel::Norwegian, &bp),
            Some(VKP_V090_OBSERVATIONS[0].1)
        );
        let unknown = json!({"resourceType": "Observation",
            "code": {"coding": [{"system": "http://loinc.org", "code": "0000-0"}]}});
        assert_eq!(profile_for(ValidationLevel::Norwegian, &unknown), None);
    }

    #[test]
    fn a_type_without_a_norwegian_profile_is_core() {
        let m = json!({"resourceType": "Medication"});
        assert_eq!(profile_for(ValidationLevel::Norwegian, &m), None);
    }
}
