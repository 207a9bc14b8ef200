//! The ValueSets we carry, expanded to (system, code) sets for required bindings: the no-basis
//! and Helsebro ones, and the R4 core ones of the required bindings our types reach
//! (`data/r4-core/`).
//!
//! ValueSets are expanded at load time from `compose`: an include lists concepts, names a whole
//! CodeSystem we carry, filters one by `is-a`/`descendent-of`, or imports other carried
//! ValueSets; excludes are taken out the same way. A ValueSet with any other kind of rule, or
//! over a CodeSystem we do not carry (BCP-13 mime types, ISO 4217 currencies), is not carried,
//! and bindings to ValueSets we do not carry are skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde_json::Value;

const VALUE_SETS: &[&str] = &[
    include_str!("../../data/no-basis-2.2.0/no-basis-documentreference-type.valueset.json"),
    include_str!("../../data/no-basis-2.2.0/no-basis-maritalstatus.valueset.json"),
    include_str!("../../data/no-basis-2.2.0/no-basis-family-relation.valueset.json"),
    include_str!("../../data/helsebro-communication-category.ValueSet.json"),
    include_str!("../../data/r4-core/ValueSet-address-type.json"),
    include_str!("../../data/r4-core/ValueSet-address-use.json"),
    include_str!("../../data/r4-core/ValueSet-administrative-gender.json"),
    include_str!("../../data/r4-core/ValueSet-all-types.json"),
    include_str!("../../data/r4-core/ValueSet-contact-point-system.json"),
    include_str!("../../data/r4-core/ValueSet-contact-point-use.json"),
    include_str!("../../data/r4-core/ValueSet-contributor-type.json"),
    include_str!("../../data/r4-core/ValueSet-currencies.json"),
    include_str!("../../data/r4-core/ValueSet-days-of-week.json"),
    include_str!("../../data/r4-core/ValueSet-event-status.json"),
    include_str!("../../data/r4-core/ValueSet-event-timing.json"),
    include_str!("../../data/r4-core/ValueSet-identifier-use.json"),
    include_str!("../../data/r4-core/ValueSet-link-type.json"),
    include_str!("../../data/r4-core/ValueSet-medication-statement-status.json"),
    include_str!("../../data/r4-core/ValueSet-mimetypes.json"),
    include_str!("../../data/r4-core/ValueSet-name-use.json"),
    include_str!("../../data/r4-core/ValueSet-narrative-status.json"),
    include_str!("../../data/r4-core/ValueSet-observation-status.json"),
    include_str!("../../data/r4-core/ValueSet-operation-parameter-use.json"),
    include_str!("../../data/r4-core/ValueSet-quantity-comparator.json"),
    include_str!("../../data/r4-core/ValueSet-related-artifact-type.json"),
    include_str!("../../data/r4-core/ValueSet-request-priority.json"),
    include_str!("../../data/r4-core/ValueSet-sort-direction.json"),
    include_str!("../../data/r4-core/ValueSet-trigger-type.json"),
    include_str!("../../data/r4-core/ValueSet-units-of-time.json"),
];

const CODE_SYSTEMS: &[&str] = &[
    include_str!("../../data/no-basis-2.2.0/no-basis-marital-status.codesystem.json"),
    include_str!("../../data/no-basis-2.2.0/no-basis-family-relation.codesystem.json"),
    include_str!("../../data/helsebro-communication-category.CodeSystem.json"),
    include_str!("../../data/r4-core/CodeSystem-abstract-types.json"),
    include_str!("../../data/r4-core/CodeSystem-address-type.json"),
    include_str!("../../data/r4-core/CodeSystem-address-use.json"),
    include_str!("../../data/r4-core/CodeSystem-administrative-gender.json"),
    include_str!("../../data/r4-core/CodeSystem-contact-point-system.json"),
    include_str!("../../data/r4-core/CodeSystem-contact-point-use.json"),
    include_str!("../../data/r4-core/CodeSystem-contributor-type.json"),
    include_str!("../../data/r4-core/CodeSystem-data-types.json"),
    include_str!("../../data/r4-core/CodeSystem-days-of-week.json"),
    include_str!("../../data/r4-core/CodeSystem-event-status.json"),
    include_str!("../../data/r4-core/CodeSystem-event-timing.json"),
    include_str!("../../data/r4-core/CodeSystem-identifier-use.json"),
    include_str!("../../data/r4-core/CodeSystem-link-type.json"),
    include_str!("../../data/r4-core/CodeSystem-medication-statement-status.json"),
    include_str!("../../data/r4-core/CodeSystem-name-use.json"),
    include_str!("../../data/r4-core/CodeSystem-narrative-status.json"),
    include_str!("../../data/r4-core/CodeSystem-observation-status.json"),
    include_str!("../../data/r4-core/CodeSystem-operation-parameter-use.json"),
    include_str!("../../data/r4-core/CodeSystem-quantity-comparator.json"),
    include_str!("../../data/r4-core/CodeSystem-related-artifact-type.json"),
    include_str!("../../data/r4-core/CodeSystem-request-priority.json"),
    include_str!("../../data/r4-core/CodeSystem-resource-types.json"),
    include_str!("../../data/r4-core/CodeSystem-sort-direction.json"),
    include_str!("../../data/r4-core/CodeSystem-trigger-type.json"),
    include_str!("../../data/r4-core/CodeSystem-v3-TimingEvent.json"),
];

/// ValueSet canonical → the codes in it, as (system, code).
pub(super) type Expansion = BTreeSet<(String, String)>;

pub(super) static VALUE_SET_CODES: LazyLock<BTreeMap<String, Expansion>> = LazyLock::new(|| {
    let code_systems: BTreeMap<String, CodeSystem> = CODE_SYSTEMS
        .iter()
        .filter_map(|src| {
            let cs: Value = serde_json::from_str(src).ok()?;
            // A fragment or an example cannot tell what is outside it.
            if cs.get("content").and_then(Value::as_str) != Some("complete") {
                return None;
            }
            let mut system = CodeSystem::default();
            collect_concepts(cs.get("concept"), None, &mut system);
            Some((cs.get("url")?.as_str()?.to_string(), system))
        })
        .collect();
    let value_sets: BTreeMap<String, Value> = VALUE_SETS
        .iter()
        .filter_map(|src| {
            let vs: Value = serde_json::from_str(src).ok()?;
            Some((vs.get("url")?.as_str()?.to_string(), vs))
        })
        .collect();
    let sources = Sources {
        code_systems: &code_systems,
        value_sets: &value_sets,
    };
    value_sets
        .iter()
        .filter_map(|(url, vs)| Some((url.clone(), sources.expand(vs, 0)?)))
        .collect()
});

/// A CodeSystem's codes, and each code's parent for `is-a` filters.
#[derive(Default)]
struct CodeSystem {
    codes: Vec<String>,
    parent: BTreeMap<String, String>,
}

impl CodeSystem {
    /// `code` and every code below it.
    fn descendants_or_self(&self, code: &str) -> Vec<&String> {
        self.codes
            .iter()
            .filter(|c| {
                let mut at = Some(c.as_str());
                // The depth bound guards against a cycle in a broken hierarchy.
                for _ in 0..64 {
                    match at {
                        Some(x) if x == code => return true,
                        Some(x) => at = self.parent.get(x).map(String::as_str),
                        None => return false,
                    }
                }
                false
            })
            .collect()
    }
}

fn collect_concepts(concepts: Option<&Value>, parent: Option<&str>, out: &mut CodeSystem) {
    for c in concepts.and_then(Value::as_array).into_iter().flatten() {
        let Some(code) = c.get("code").and_then(Value::as_str) else {
            continue;
        };
        out.codes.push(code.to_string());
        if let Some(p) = parent {
            out.parent.insert(code.to_string(), p.to_string());
        }
        collect_concepts(c.get("concept"), Some(code), out);
    }
}

struct Sources<'a> {
    code_systems: &'a BTreeMap<String, CodeSystem>,
    value_sets: &'a BTreeMap<String, Value>,
}

impl Sources<'_> {
    fn expand(&self, vs: &Value, depth: usize) -> Option<Expansion> {
        // Imports nest a few levels at most; a cycle must not recurse forever.
        if depth > 8 {
            return None;
        }
        let compose = vs.get("compose")?;
        let mut out = Expansion::new();
        for include in compose.get("include")?.as_array()? {
            out.extend(self.rule(include, depth)?);
        }
        for exclude in compose
            .get("exclude")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for code in self.rule(exclude, depth)? {
                out.remove(&code);
            }
        }
        Some(out)
    }

    /// The codes one include (or exclude) rule selects.
    fn rule(&self, rule: &Value, depth: usize) -> Option<Expansion> {
        let mut imported: Option<Expansion> = None;
        for url in rule
            .get("valueSet")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let vs = self
                .value_sets
                .get(super::model::strip_version(url.as_str()?))?;
            let codes = self.expand(vs, depth + 1)?;
            // Several imported ValueSets in one rule intersect.
            imported = Some(match imported {
                None => codes,
                Some(prev) => prev.intersection(&codes).cloned().collect(),
            });
        }
        let Some(system) = rule.get("system").and_then(Value::as_str) else {
            return imported;
        };
        let mut out = Expansion::new();
        if let Some(concepts) = rule.get("concept").and_then(Value::as_array) {
            for c in concepts {
                out.insert((system.to_string(), c.get("code")?.as_str()?.to_string()));
            }
        } else {
            let cs = self.code_systems.get(system)?;
            let mut codes: Vec<&String> = cs.codes.iter().collect();
            for f in rule
                .get("filter")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let op = f.get("op").and_then(Value::as_str)?;
                let value = f.get("value").and_then(Value::as_str)?;
                if f.get("property").and_then(Value::as_str) != Some("concept") {
                    return None;
                }
                let below = cs.descendants_or_self(value);
                codes.retain(|c| match op {
                    "is-a" => below.contains(c),
                    "descendent-of" => below.contains(c) && c.as_str() != value,
                    "is-not-a" => !below.contains(c),
                    _ => false,
                });
                if !matches!(op, "is-a" | "descendent-of" | "is-not-a") {
                    return None;
                }
            }
            out.extend(codes.into_iter().map(|c| (system.to_string(), c.clone())));
        }
        Some(match imported {
            None => out,
            Some(imported) => out.intersection(&imported).cloned().collect(),
        })
    }
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
        let gender = &VALUE_SET_CODES["http://hl7.org/fhir/ValueSet/administrative-gender"];
        assert_eq!(gender.len(), 4);
        let status = &VALUE_SET_CODES["http://hl7.org/fhir/ValueSet/observation-status"];
        assert!(status.iter().any(|(_, c)| c == "final"));
        assert!(!status.iter().any(|(_, c)| c == "done"));
        // Not carried: BCP-13 has no CodeSystem here.
        assert!(!VALUE_SET_CODES.contains_key("http://hl7.org/fhir/ValueSet/mimetypes"));
        assert!(matches!(
            check(
                &serde_json::json!({"coding": [{"system": "x", "code": "y"}]}),
                doc
            ),
            BindingCheck::Outside(_)
        ));
    }
}
