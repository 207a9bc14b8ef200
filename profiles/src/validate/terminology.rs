//! The ValueSets we carry, expanded to (system, code) sets for required bindings.
//!
//! A ValueSet counts as carried when every `compose.include` lists explicit concepts or names a
//! whole CodeSystem we carry, with no filters, no imported ValueSets and no excludes. Bindings
//! to any other ValueSet are skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde_json::Value;

const VALUE_SETS: &[&str] = &[
    include_str!("../../data/no-basis-2.2.0/no-basis-documentreference-type.valueset.json"),
    include_str!("../../data/no-basis-2.2.0/no-basis-maritalstatus.valueset.json"),
    include_str!("../../data/no-basis-2.2.0/no-basis-family-relation.valueset.json"),
    include_str!("../../data/helsebro-communication-category.ValueSet.json"),
];

const CODE_SYSTEMS: &[&str] = &[
    include_str!("../../data/no-basis-2.2.0/no-basis-marital-status.codesystem.json"),
    include_str!("../../data/no-basis-2.2.0/no-basis-family-relation.codesystem.json"),
    include_str!("../../data/helsebro-communication-category.CodeSystem.json"),
];

/// ValueSet canonical → the codes in it, as (system, code).
pub(super) type Expansion = BTreeSet<(String, String)>;

pub(super) static VALUE_SET_CODES: LazyLock<BTreeMap<String, Expansion>> = LazyLock::new(|| {
    let code_systems: BTreeMap<String, Vec<String>> = CODE_SYSTEMS
        .iter()
        .filter_map(|src| {
            let cs: Value = serde_json::from_str(src).ok()?;
            let mut codes = Vec::new();
            collect_concepts(cs.get("concept"), &mut codes);
            Some((cs.get("url")?.as_str()?.to_string(), codes))
        })
        .collect();
    VALUE_SETS
        .iter()
        .filter_map(|src| {
            let vs: Value = serde_json::from_str(src).ok()?;
            let url = vs.get("url")?.as_str()?.to_string();
            Some((url, expand(&vs, &code_systems)?))
        })
        .collect()
});

fn collect_concepts(concepts: Option<&Value>, out: &mut Vec<String>) {
    for c in concepts.and_then(Value::as_array).into_iter().flatten() {
        if let Some(code) = c.get("code").and_then(Value::as_str) {
            out.push(code.to_string());
        }
        collect_concepts(c.get("concept"), out);
    }
}

fn expand(vs: &Value, code_systems: &BTreeMap<String, Vec<String>>) -> Option<Expansion> {
    let compose = vs.get("compose")?;
    if compose.get("exclude").is_some() {
        return None;
    }
    let mut out = Expansion::new();
    for include in compose.get("include")?.as_array()? {
        if include.get("filter").is_some() || include.get("valueSet").is_some() {
            return None;
        }
        let system = include.get("system")?.as_str()?;
        match include.get("concept").and_then(Value::as_array) {
            Some(concepts) => {
                for c in concepts {
                    out.insert((system.to_string(), c.get("code")?.as_str()?.to_string()));
                }
            }
            None => {
                for code in code_systems.get(system)? {
                    out.insert((system.to_string(), code.clone()));
                }
            }
        }
    }
    Some(out)
}

/// The outcome of checking a bound value against a carried ValueSet.
pub(super) enum BindingCheck {
    Ok,
    /// Nothing to check (no codes in the value).
    Empty,
    /// The codes found, none of which is in the ValueSet.
    Outside(Vec<String>),
}

/// Checks a `code`, `Coding` or `CodeableConcept` value against an expansion. A CodeableConcept
/// passes when one of its codings is in the ValueSet.
pub(super) fn check(value: &Value, codes: &Expansion) -> BindingCheck {
    let codings: Vec<(Option<&str>, &str)> = match value {
        Value::String(code) => vec![(None, code.as_str())],
        Value::Object(obj) if obj.contains_key("coding") => obj["coding"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(coding)
            .collect(),
        Value::Object(_) => coding(value).into_iter().collect(),
        _ => Vec::new(),
    };
    if codings.is_empty() {
        return BindingCheck::Empty;
    }
    let inside = |(system, code): &(Option<&str>, &str)| match system {
        Some(system) => codes.contains(&(system.to_string(), code.to_string())),
        None => codes.iter().any(|(_, c)| c == code),
    };
    if codings.iter().any(inside) {
        BindingCheck::Ok
    } else {
        BindingCheck::Outside(
            codings
                .iter()
                .map(|(s, c)| match s {
                    Some(s) => format!("{s}|{c}"),
                    None => (*c).to_string(),
                })
                .collect(),
        )
    }
}

fn coding(v: &Value) -> Option<(Option<&str>, &str)> {
    Some((
        v.get("system").and_then(Value::as_str),
        v.get("code")?.as_str()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_terminology_carried_value_sets_expand() {
        let doc = &VALUE_SET_CODES["http://hl7.no/fhir/ValueSet/no-basis-documentreference-type"];
        assert!(doc.contains(&(
            "urn:oid:2.16.578.1.12.4.1.1.9602".to_string(),
            "A03-2".to_string()
        )));
        let marital = &VALUE_SET_CODES["http://hl7.no/fhir/ValueSet/no-basis-marital-status"];
        assert!(!marital.is_empty());
        let category =
            &VALUE_SET_CODES["http://helsebro.no/fhir/ValueSet/helsebro-communication-category"];
        assert!(!category.is_empty());
        assert!(matches!(
            check(
                &serde_json::json!({"coding": [{"system": "x", "code": "y"}]}),
                doc
            ),
            BindingCheck::Outside(_)
        ));
    }
}
