//! A kick-off's parameters (`_outputFormat`, `_type`, `_since`, `_typeFilter`, and
//! `patient` at patient and group level), checked, and the plan they make with the
//! token's reach and the level's patients.

use helsebro_mappings::dates::parse_range;
use serde_json::Value;

use super::{Plan, Step};
use crate::auth::access::Access;
use crate::auth::scopes::Permission;
use crate::fhir::error::ApiError;
use crate::fhir::search::params;
use crate::served::ServedType;

/// The media types `_outputFormat` may name: all mean NDJSON of FHIR JSON.
const NDJSON: &[&str] = &["application/fhir+ndjson", "application/ndjson", "ndjson"];

/// Parameters of the Bulk Data IG this server does not implement: refused unless the
/// client asked for lenient handling.
const UNSUPPORTED: &[&str] = &[
    "_elements",
    "includeAssociatedData",
    "organizeOutputBy",
    "allowPartialManifests",
    "_until",
];

/// How many patients one search names: a group's members are split into searches of at
/// most this many, so that no statement needs more parameters than a backend allows.
const PATIENTS_PER_SEARCH: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    System,
    Patient,
    Group,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::System => "system",
            Level::Patient => "patient",
            Level::Group => "group",
        }
    }

    /// The types this level exports: everything, or the Patient compartment's. The
    /// Practitioners and Organizations a patient's data refers to are not in their
    /// compartment and are not exported at patient or group level.
    pub fn types(self) -> &'static [ServedType] {
        match self {
            Level::System => &ServedType::ALL,
            Level::Patient | Level::Group => &ServedType::PATIENT_RECORD,
        }
    }
}

/// A kick-off's parameters, checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KickOff {
    /// `_type`, in the order given; `None` for every type the token reaches.
    pub types: Option<Vec<ServedType>>,
    /// `_since` in microseconds.
    pub since: Option<i64>,
    /// `_typeFilter`: per type, searches whose results are ORed.
    pub filters: Vec<(ServedType, Vec<(String, String)>)>,
    /// `patient` (POST): only these patients' data.
    pub patients: Option<Vec<String>>,
}

/// Checks the parameters of a kick-off at `level`. Unknown and unsupported parameters
/// are refused unless `lenient`.
pub fn parse(pairs: &[(String, String)], level: Level, lenient: bool) -> Result<KickOff, ApiError> {
    let mut out = KickOff::default();
    for (key, value) in pairs {
        match key.as_str() {
            "_outputFormat" => {
                if !NDJSON.contains(&value.trim()) {
                    return Err(ApiError::BadRequest {
                        code: "not-supported",
                        message: format!(
                            "_outputFormat '{value}' is not supported: use application/fhir+ndjson"
                        ),
                        expression: None,
                    });
                }
            }
            "_type" => {
                let types = out.types.get_or_insert_with(Vec::new);
                for name in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                    let served = level_type(level, name)?;
                    if !types.contains(&served) {
                        types.push(served);
                    }
                }
            }
            "_since" => out.since = Some(instant(value)?),
            "_typeFilter" => {
                for filter in split_filters(value) {
                    out.filters.push(type_filter(level, &filter)?);
                }
            }
            "patient" if level != Level::System => {
                let list = out.patients.get_or_insert_with(Vec::new);
                for p in value.split(',') {
                    let id = p.trim().trim_start_matches("Patient/");
                    crate::fhir::check_id(id)?;
                    list.push(id.to_string());
                }
            }
            // Negotiation of the kick-off's own answer, not of the files.
            "_format" | "_pretty" => {}
            other if lenient => {
                tracing::debug!(parameter = other, "export parameter ignored (lenient)");
            }
            other if UNSUPPORTED.contains(&other) => {
                return Err(ApiError::BadRequest {
                    code: "not-supported",
                    message: format!(
                        "{other} is not supported by this server's $export (send Prefer: handling=lenient to have it ignored)"
                    ),
                    expression: None,
                })
            }
            other => {
                return Err(ApiError::BadRequest {
                    code: "not-supported",
                    message: format!("'{other}' is not a parameter of {} $export", level.name()),
                    expression: None,
                })
            }
        }
    }
    if let Some(types) = &out.types {
        if let Some((t, _)) = out.filters.iter().find(|(t, _)| !types.contains(t)) {
            return Err(ApiError::bad_request(format!(
                "_typeFilter names {}, which _type leaves out",
                t.name()
            )));
        }
    }
    Ok(out)
}

/// The pairs of a POST kick-off's `Parameters` body, as a GET would carry them.
pub fn parameters_body(body: &Value) -> Result<Vec<(String, String)>, ApiError> {
    if body["resourceType"] != "Parameters" {
        return Err(ApiError::bad_request(
            "a POST $export takes a Parameters resource",
        ));
    }
    let mut pairs = Vec::new();
    for p in body["parameter"].as_array().into_iter().flatten() {
        let name = p["name"].as_str().unwrap_or_default().to_string();
        let value = ["valueString", "valueInstant", "valueCode", "valueUri"]
            .iter()
            .find_map(|k| p[k].as_str())
            .or_else(|| p["valueReference"]["reference"].as_str());
        match value {
            Some(v) => pairs.push((name, v.to_string())),
            None => {
                return Err(ApiError::bad_request(format!(
                    "the parameter '{name}' has no value of a type $export takes"
                )))
            }
        }
    }
    Ok(pairs)
}

fn level_type(level: Level, name: &str) -> Result<ServedType, ApiError> {
    level
        .types()
        .iter()
        .find(|t| t.name() == name)
        .copied()
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "'{name}' is not a resource type of {} $export on this server",
                level.name()
            ))
        })
}

fn instant(value: &str) -> Result<i64, ApiError> {
    let bad = || ApiError::bad_request(format!("_since '{value}' is not a FHIR instant"));
    // An instant has a time and a zone; a date alone is not one.
    let (_, time) = value.split_once('T').ok_or_else(bad)?;
    let zoned = time.ends_with('Z') || time.contains('+') || time.contains('-');
    if !zoned {
        return Err(bad());
    }
    parse_range(value).map(|r| r.low).ok_or_else(bad)
}

/// `_typeFilter` values, which may also come comma-separated (Bulk Data 1.0): a comma
/// starts a new filter only where a resource type and `?` follow, since commas also
/// separate a search parameter's alternatives.
fn split_filters(value: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in value.split(',') {
        let starts_filter = part
            .split_once('?')
            .is_some_and(|(t, _)| !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphabetic()));
        match out.last_mut() {
            Some(last) if !starts_filter => {
                last.push(',');
                last.push_str(part);
            }
            _ => out.push(part.to_string()),
        }
    }
    out
}

/// One `Type?search` filter, checked by the search parser: only search parameters of the
/// type, no result parameters (`_count`, `_sort`, `_elements`…).
fn type_filter(
    level: Level,
    filter: &str,
) -> Result<(ServedType, Vec<(String, String)>), ApiError> {
    let (name, query) = filter.split_once('?').ok_or_else(|| {
        ApiError::bad_request(format!(
            "_typeFilter '{filter}' is not of the form Type?search"
        ))
    })?;
    let served = level_type(level, name)?;
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let parsed = params::parse(served.def(), &pairs, true)?;
    if pairs.is_empty() || parsed.applied.len() != parsed.clauses.len() {
        return Err(ApiError::bad_request(format!(
            "_typeFilter '{filter}' must name search parameters of {name}, and only those"
        )));
    }
    Ok((served, pairs))
}

/// The plan of a kick-off: per type, the searches to export, each the type filter (or
/// none), the token's reach and the patients of the level (`None`: every patient).
/// A type `_type` names that the token cannot read is refused; without `_type` such
/// types are left out.
pub fn plan(
    kick: &KickOff,
    level: Level,
    access: &Access,
    patients: Option<&[String]>,
) -> Result<Plan, ApiError> {
    let named = kick.types.is_some();
    let types: Vec<ServedType> = kick.types.clone().unwrap_or_else(|| level.types().to_vec());
    let mut steps = Vec::new();
    for served in types {
        let Some(reach) = access.reach(served.name(), Permission::Read) else {
            if named {
                return Err(ApiError::Forbidden(format!(
                    "the access token grants no read on {}",
                    served.name()
                )));
            }
            continue;
        };
        let mut filters: Vec<Vec<(String, String)>> = kick
            .filters
            .iter()
            .filter(|(t, _)| *t == served)
            .map(|(_, f)| f.clone())
            .collect();
        if filters.is_empty() {
            filters.push(Vec::new());
        }
        let compartment = compartment_searches(served, level, patients);
        let mut any_of = Vec::new();
        for filter in &filters {
            for restriction in &compartment {
                let mut search = filter.clone();
                search.extend(reach.only.iter().cloned());
                search.extend(restriction.iter().cloned());
                // The reach and the compartment come from the server; checked anyway so
                // that the worker never meets a search it cannot compile.
                params::parse(served.def(), &search, true)?;
                any_of.push(search);
            }
        }
        steps.push(Step {
            resource_type: served.name().to_string(),
            any_of,
        });
    }
    Ok(Plan { steps })
}

/// The restrictions that confine a type to the level's patients, one search each
/// (ORed); none for a system-level export; an empty list when there are no patients.
fn compartment_searches(
    served: ServedType,
    level: Level,
    patients: Option<&[String]>,
) -> Vec<Vec<(String, String)>> {
    let (param, value): (&str, fn(&str) -> String) = if served == ServedType::Patient {
        ("_id", |p| p.to_string())
    } else {
        ("patient", |p| format!("Patient/{p}"))
    };
    match (level, patients) {
        (Level::System, _) => vec![Vec::new()],
        (_, None) if served == ServedType::Patient => vec![Vec::new()],
        (_, None) => vec![vec![("patient:missing".into(), "false".into())]],
        (_, Some(list)) => list
            .chunks(PATIENTS_PER_SEARCH)
            .map(|chunk| {
                let values: Vec<String> = chunk.iter().map(|p| value(p)).collect();
                vec![(param.to_string(), values.join(","))]
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn comma_separated_filters_split_only_before_a_type() {
        assert_eq!(
            split_filters("Observation?code=a,b&status=final,Patient?gender=female"),
            vec!["Observation?code=a,b&status=final", "Patient?gender=female"]
        );
    }

    #[test]
    fn output_formats_other_than_ndjson_are_refused() {
        for ok in NDJSON {
            assert!(parse(&pairs(&[("_outputFormat", ok)]), Level::System, false).is_ok());
        }
        assert!(parse(
            &pairs(&[("_outputFormat", "text/csv")]),
            Level::System,
            false
        )
        .is_err());
    }

    #[test]
    fn unsupported_parameters_pass_only_when_lenient() {
        let p = pairs(&[("includeAssociatedData", "LatestProvenanceResources")]);
        assert!(parse(&p, Level::System, false).is_err());
        assert!(parse(&p, Level::System, true).is_ok());
    }

    #[test]
    fn since_must_be_an_instant() {
        assert!(instant("2024-01-01").is_err());
        assert!(instant("2024-01-01T10:00:00").is_err());
        assert!(instant("2024-01-01T10:00:00Z").is_ok());
        assert!(instant("2024-01-01T10:00:00.123+01:00").is_ok());
    }

    #[test]
    fn patient_level_exports_only_compartment_types() {
        assert!(parse(&pairs(&[("_type", "Practitioner")]), Level::Patient, false).is_err());
        assert!(parse(&pairs(&[("_type", "Practitioner")]), Level::System, false).is_ok());
    }

    #[test]
    fn a_group_is_searched_in_chunks() {
        let members: Vec<String> = (0..250).map(|i| format!("p{i}")).collect();
        let searches = compartment_searches(ServedType::Observation, Level::Group, Some(&members));
        assert_eq!(searches.len(), 3);
        assert!(searches[0][0].1.starts_with("Patient/p0,Patient/p1,"));
        assert!(compartment_searches(ServedType::Patient, Level::Group, Some(&[])).is_empty());
    }
}
