//! FHIRPath invariants (`ElementDefinition.constraint`) of the snapshots we carry, evaluated with
//! `rh-fhirpath` on the JSON of each element instance.
//!
//! Every expression is parsed once, when the definitions are loaded ([`constraint`] keeps the
//! parsed ASTs in a map keyed by expression), and evaluated per instance with the instance as
//! focus and `%resource` bound to the resource that holds it. Only an explicit `false` fails a
//! constraint: an expression the crate cannot parse, or that errors on an instance, is skipped
//! and never reported, so a gap in the crate cannot reject a valid resource.
//!
//! Some keys are not evaluated through FHIRPath ([`NOT_EVALUATED`] says which and why): ele-1 and
//! ext-1 are checked in Rust by the structure check (they hold on every element, so evaluating
//! them per element would dominate the cost), dom-3 and txt-1/txt-2 are checked in Rust here
//! ([`dom_3`], [`super::narrative`]) because the crate cannot evaluate them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use rh_fhirpath::{
    EvaluationContext, FhirPathEvaluator, FhirPathExpression, FhirPathParser, FhirPathValue,
};
use serde_json::Value;

use super::{Issue, Severity};

/// Keys not evaluated through FHIRPath, with the reason. Tested: each reason still holds.
pub const NOT_EVALUATED: &[(&str, &str)] = &[
    (
        "ele-1",
        "checked in Rust by the structure check, on every element of every write, where it is \
         cheap. rh-fhirpath evaluates it correctly on an element instance; the \"Invalid indexer \
         operation\" of wrapping it as `Path.all(...)` comes from paths like `Observation.value[x]`, \
         whose `[x]` parses as an indexer",
    ),
    (
        "ext-1",
        "checked in Rust by the structure check (an extension has either extensions or a value)",
    ),
    (
        "dom-3",
        "checked in Rust (dom_3): the R4 expression applies `as(canonical)` to \
         `%resource.descendants()`, and rh-fhirpath (as FHIRPath 2.0 says) refuses `as()` on a \
         collection of more than one item (\"as(canonical) cannot be applied to a collection \
         with 5 items\"); without type information a JSON string is never a canonical anyway",
    ),
    (
        "ref-1",
        "checked in Rust (ref_1): it holds on every Reference and binds %rootResource, which \
         rh-fhirpath copies at every navigation step; and the R4 expression fails a `#` \
         reference to the container, which the specification allows",
    ),
    (
        "txt-1",
        "`htmlChecks()` is not implemented by rh-fhirpath; checked in Rust (narrative)",
    ),
    (
        "txt-2",
        "`htmlChecks()` is not implemented by rh-fhirpath; checked in Rust (narrative)",
    ),
];

/// Keys that are evaluated but that rh-fhirpath 0.3 cannot judge on untyped JSON, with the
/// reason (each is tested to stay silent, never to report falsely). They stay in the walk so
/// that a better evaluator judges them without a change here.
pub const NOT_JUDGED: &[(&str, &str)] = &[
    (
        "rng-2",
        "`low <= high` compares two Quantity objects, which rh-fhirpath refuses (\"Cannot \
         compare Object and Object\"): the evaluation errors and is skipped",
    ),
    (
        "tim-6",
        "rh-fhirpath resolves a missing `period` to `periodMax` (any key that starts with the \
         name and an upper-case letter is taken for a choice type), so it always holds",
    ),
    (
        "tim-7",
        "as tim-6: a missing `duration` resolves to `durationMax`",
    ),
    (
        "tim-8",
        "as tim-6: a missing `count` resolves to `countMax`",
    ),
    (
        "tim-9",
        "rh-fhirpath answers `when in ('C' | 'CM' | 'CD' | 'CV')` with false when `when` (which \
         repeats) comes as a one-item collection from JSON, so the constraint never fails",
    ),
];

const BEST_PRACTICE: &str =
    "http://hl7.org/fhir/StructureDefinition/elementdefinition-bestpractice";

/// One constraint of an element definition.
#[derive(Debug)]
pub(super) struct Constraint {
    pub key: String,
    pub severity: Severity,
    pub human: String,
    /// `None` when the expression does not parse or the key is in [`NOT_EVALUATED`].
    ast: Option<FhirPathExpression>,
    /// Whether `%resource` / `%rootResource` must be bound (binding one copies the resource
    /// into the evaluation context, so it is done only when used).
    uses_resource: bool,
    uses_root: bool,
    /// The names the expression mentions, when it only reaches children by name: the focus and
    /// the bound resources are then cut down to those properties before evaluating, because
    /// rh-fhirpath copies the focus (and every bound constant) at each navigation step, and the
    /// focus of a resource's own constraints is the whole resource. `None` when the expression
    /// walks children it does not name (`children()`, `descendants()`, `$this`, `repeat()`).
    names: Option<Vec<String>>,
}

/// Parsed constraints by (key, expression): each expression is parsed once however many
/// elements repeat it (the snapshots repeat inherited constraints on every element).
static PARSED: LazyLock<Mutex<ParsedMap>> = LazyLock::new(|| Mutex::new(HashMap::new()));

type ParsedMap = HashMap<(String, String), Arc<Constraint>>;

thread_local! {
    /// The evaluator holds its function table in boxed closures that are not `Sync`.
    static EVALUATOR: RefCell<Option<FhirPathEvaluator>> = const { RefCell::new(None) };
}

/// The constraints of an ElementDefinition worth evaluating: severity error or warning, with an
/// expression. Keys checked elsewhere are left out.
pub(super) fn of_element(e: &serde_json::Map<String, Value>) -> Vec<Arc<Constraint>> {
    e.get("constraint")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let key = c.get("key")?.as_str()?;
            let best_practice = c
                .get("extension")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|x| {
                    x.get("url").and_then(Value::as_str) == Some(BEST_PRACTICE)
                        && x.get("valueBoolean") == Some(&Value::Bool(true))
                });
            let severity = match c.get("severity")?.as_str()? {
                "error" => Severity::Error,
                // A best-practice recommendation (dom-6: have a narrative) is advice, not a
                // finding about the resource: information, so that a valid resource without
                // narrative validates without warnings.
                "warning" if best_practice => Severity::Information,
                "warning" => Severity::Warning,
                _ => return None,
            };
            if NOT_EVALUATED.iter().any(|(k, _)| *k == key) {
                return None;
            }
            let expression = c.get("expression")?.as_str()?;
            let human = c.get("human").and_then(Value::as_str).unwrap_or("");
            Some(constraint(key, severity, human, expression))
        })
        .collect()
}

/// The shared, parsed constraint for a key and expression.
pub(super) fn constraint(
    key: &str,
    severity: Severity,
    human: &str,
    expression: &str,
) -> Arc<Constraint> {
    let mut parsed = PARSED.lock().unwrap_or_else(|e| e.into_inner());
    parsed
        .entry((key.to_string(), expression.to_string()))
        .or_insert_with(|| {
            Arc::new(Constraint {
                key: key.to_string(),
                severity,
                human: human.to_string(),
                ast: FhirPathParser::new().parse(expression).ok(),
                uses_resource: expression.contains("%resource"),
                uses_root: expression.contains("%rootResource"),
                names: names(expression),
            })
        })
        .clone()
}

/// The outcome of evaluating one constraint on one instance.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    Holds,
    Fails,
    /// Not parsed, or the evaluation errored: not judged.
    Skipped,
}

/// Every constraint loaded so far (the definitions load theirs when first used).
#[cfg(test)]
pub(super) fn loaded() -> Vec<Arc<Constraint>> {
    let parsed = PARSED.lock().unwrap_or_else(|e| e.into_inner());
    parsed.values().cloned().collect()
}

/// Evaluates constraints on one instance: `focus` is the context, `resource` is `%resource` and
/// `root` is `%rootResource`. One evaluation context serves them all, because building one
/// copies the focus (and the resources when bound).
pub(super) fn evaluate<'c>(
    constraints: &[&'c Constraint],
    focus: &Value,
    resource: &Value,
    root: &Value,
) -> Vec<(&'c Constraint, Outcome)> {
    let parsed: Vec<(&Constraint, &FhirPathExpression)> = constraints
        .iter()
        .filter_map(|c| Some((*c, c.ast.as_ref()?)))
        .collect();
    let mut out: Vec<(&Constraint, Outcome)> = constraints
        .iter()
        .filter(|c| c.ast.is_none())
        .map(|c| (*c, Outcome::Skipped))
        .collect();
    if parsed.is_empty() {
        return out;
    }
    EVALUATOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let evaluator = slot.get_or_insert_with(FhirPathEvaluator::new);
        for (c, ast) in parsed {
            let names = c.names.as_deref();
            // The root is only read for %resource/%rootResource, which are bound as constants;
            // leaving it empty spares a copy of the focus at every navigation step.
            let mut ctx = EvaluationContext::new(Value::Null);
            ctx.current = pruned(focus, names);
            if c.uses_resource {
                let r = pruned(resource, names);
                ctx.add_constant("resource".into(), FhirPathValue::from_json(&r));
            }
            if c.uses_root {
                let r = pruned(root, names);
                ctx.add_constant("rootResource".into(), FhirPathValue::from_json(&r));
            }
            // The crate is young: a panic inside it must not take a write down with it.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                evaluator.evaluate(ast, &ctx)
            }));
            let outcome = match result {
                Ok(Ok(value)) if is_false(&value) => Outcome::Fails,
                Ok(Ok(_)) => Outcome::Holds,
                _ => Outcome::Skipped,
            };
            out.push((c, outcome));
        }
    });
    out
}

/// The identifiers an expression mentions, or `None` when it reaches children without naming
/// them.
fn names(expression: &str) -> Option<Vec<String>> {
    const UNNAMED: &[&str] = &["children", "descendants", "$this", "repeat", "trace"];
    if UNNAMED.iter().any(|u| expression.contains(u)) {
        return None;
    }
    let mut out: Vec<String> = expression
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with(|c: char| c.is_ascii_alphabetic()))
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    Some(out)
}

/// A copy of `v` with only the top-level properties `names` can reach (a choice element
/// `valueQuantity` is reached as `value`); `resourceType` stays for typing.
fn pruned(v: &Value, names: Option<&[String]>) -> Value {
    let (Some(names), Value::Object(obj)) = (names, v) else {
        return v.clone();
    };
    let reached = |key: &str| {
        let key = key.strip_prefix('_').unwrap_or(key);
        key == "resourceType"
            || names.iter().any(|n| {
                key.strip_prefix(n.as_str()).is_some_and(|rest| {
                    rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_uppercase())
                })
            })
    };
    Value::Object(
        obj.iter()
            .filter(|(k, _)| reached(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// The issue for a failed constraint at `path`.
pub(super) fn issue(c: &Constraint, path: &str) -> Issue {
    Issue {
        severity: c.severity,
        code: "invariant",
        expression: path.to_string(),
        message: format!("{path}: {} failed: {}", c.key, c.human),
    }
}

/// Only an explicit false fails: empty means the constraint did not apply.
fn is_false(v: &FhirPathValue) -> bool {
    match v {
        FhirPathValue::Boolean(b) => !*b,
        FhirPathValue::TypedBoolean { value, .. } => !*value,
        FhirPathValue::FhirPrimitive { inner, .. } => is_false(inner),
        FhirPathValue::Collection(items) | FhirPathValue::UnorderedCollection(items) => {
            items.len() == 1 && is_false(&items[0])
        }
        _ => false,
    }
}

/// dom-3: every contained resource is referenced from elsewhere in the resource (`#id` as a
/// reference or canonical), or refers to its container (`#`). Returns the ids that are not.
pub(super) fn dom_3(resource: &Value) -> Vec<(usize, String)> {
    let Some(contained) = resource.get("contained").and_then(Value::as_array) else {
        return Vec::new();
    };
    // Every string in the resource outside `contained`, plus strings inside other contained
    // resources, can point at a contained resource.
    let mut pointers: Vec<&str> = Vec::new();
    if let Some(obj) = resource.as_object() {
        for (k, v) in obj {
            if k != "contained" {
                strings(v, &mut pointers);
            }
        }
    }
    let inside: Vec<Vec<&str>> = contained
        .iter()
        .map(|c| {
            let mut s = Vec::new();
            strings(c, &mut s);
            s
        })
        .collect();
    let mut out = Vec::new();
    for (i, c) in contained.iter().enumerate() {
        let Some(id) = c.get("id").and_then(Value::as_str) else {
            continue;
        };
        let points_here = |s: &&str| s.strip_prefix('#') == Some(id);
        let referenced = pointers.iter().any(points_here)
            || inside
                .iter()
                .enumerate()
                .any(|(j, s)| j != i && s.iter().any(points_here));
        if !referenced && !inside[i].contains(&"#") {
            out.push((i, id.to_string()));
        }
    }
    out
}

/// ref-1: a local reference (`#id`) names a resource contained in the root resource; `#` alone
/// refers to the container. Returns the id that is not contained, if any.
pub(super) fn ref_1<'v>(reference: &'v Value, root: &Value) -> Option<&'v str> {
    let id = reference.get("reference")?.as_str()?.strip_prefix('#')?;
    if id.is_empty() {
        return None;
    }
    let contained = root.get("contained").and_then(Value::as_array);
    let found = contained
        .into_iter()
        .flatten()
        .any(|c| c.get("id").and_then(Value::as_str) == Some(id));
    (!found).then_some(id)
}

fn strings<'v>(v: &'v Value, out: &mut Vec<&'v str>) {
    match v {
        Value::String(s) if s.starts_with('#') => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn eval(expr: &str, focus: Value) -> Outcome {
        let c = constraint("t-1", Severity::Error, "test", expr);
        evaluate(&[&c], &focus, &focus, &focus)
            .pop()
            .map_or(Outcome::Skipped, |(_, o)| o)
    }

    #[test]
    fn validate_invariants_evaluate_on_the_focus() {
        let pat_1 =
            "name.exists() or telecom.exists() or address.exists() or organization.exists()";
        assert_eq!(eval(pat_1, json!({"gender": "male"})), Outcome::Fails);
        assert_eq!(
            eval(pat_1, json!({"name": {"family": "X"}})),
            Outcome::Holds
        );
        // Choice elements by their base name.
        let obs_6 = "dataAbsentReason.empty() or value.empty()";
        assert_eq!(
            eval(
                obs_6,
                json!({"valueQuantity": {"value": 1}, "dataAbsentReason": {"text": "x"}})
            ),
            Outcome::Fails
        );
        assert_eq!(eval(obs_6, json!({"valueString": "x"})), Outcome::Holds);
    }

    #[test]
    fn validate_invariants_ele_1_per_instance_and_why_not_wrapped() {
        let ele_1 = "hasValue() or (children().count() > id.count())";
        assert_eq!(eval(ele_1, json!({"id": "a"})), Outcome::Fails);
        assert_eq!(eval(ele_1, json!({"id": "a", "text": "x"})), Outcome::Holds);
        // Wrapped under a choice element's path, `[x]` is an indexer the crate refuses.
        let wrapped = format!("value[x].all({ele_1})");
        assert_eq!(
            eval(&wrapped, json!({"valueString": "x"})),
            Outcome::Skipped
        );
    }

    #[test]
    fn validate_invariants_unparsable_and_erroring_are_skipped() {
        assert_eq!(eval("name.exists( or", json!({})), Outcome::Skipped);
        assert!(constraint("t-2", Severity::Error, "", "((").ast.is_none());
        assert_eq!(eval("noSuchFunction()", json!({})), Outcome::Skipped);
    }

    /// Each core invariant we evaluate, on an instance that breaks it.
    const BROKEN: &[(&str, &str)] = &[
        (
            "age-1",
            r#"{"value": -1, "system": "http://unitsofmeasure.org", "code": "a"}"#,
        ),
        ("att-1", r#"{"data": "aGk="}"#),
        (
            "cnt-3",
            r#"{"value": 1.5, "system": "http://unitsofmeasure.org", "code": "1"}"#,
        ),
        ("cpt-2", r#"{"value": "12345678"}"#),
        (
            "dis-1",
            r#"{"value": 1, "system": "http://example.org", "code": "m"}"#,
        ),
        (
            "dom-2",
            r#"{"contained": [{"resourceType": "Patient", "contained": [{"resourceType": "Patient"}]}]}"#,
        ),
        (
            "dom-4",
            r#"{"contained": [{"resourceType": "Patient", "meta": {"versionId": "1"}}]}"#,
        ),
        (
            "dom-5",
            r#"{"contained": [{"resourceType": "Patient", "meta": {"security": [{"code": "R"}]}}]}"#,
        ),
        ("dom-6", r#"{"resourceType": "Patient"}"#),
        (
            "drt-1",
            r#"{"value": 1, "system": "http://example.org", "code": "d"}"#,
        ),
        ("obs-3", r#"{"appliesTo": [{"text": "x"}]}"#),
        (
            "obs-6",
            r#"{"valueString": "x", "dataAbsentReason": {"text": "x"}}"#,
        ),
        (
            "obs-7",
            r#"{"code": {"coding": [{"system": "s", "code": "c"}]}, "valueString": "x", "component": [{"code": {"coding": [{"system": "s", "code": "c"}]}}]}"#,
        ),
        (
            "org-1",
            r#"{"resourceType": "Organization", "active": true}"#,
        ),
        ("org-2", r#"{"use": "home", "city": "Oslo"}"#),
        ("org-3", r#"{"use": "home", "value": "1"}"#),
        ("pat-1", r#"{"gender": "male"}"#),
        ("per-1", r#"{"start": "2020-01-02", "end": "2020-01-01"}"#),
        ("qty-3", r#"{"value": 1, "code": "kg"}"#),
        ("rat-1", r#"{"numerator": {"value": 1}}"#),
        ("rng-2", r#"{"low": {"value": 2}, "high": {"value": 1}}"#),
        ("sqty-1", r#"{"value": 1, "comparator": "<"}"#),
        ("tim-1", r#"{"duration": 1}"#),
        ("tim-2", r#"{"period": 1}"#),
        ("tim-4", r#"{"duration": -1, "durationUnit": "h"}"#),
        ("tim-5", r#"{"period": -1, "periodUnit": "h"}"#),
        ("tim-6", r#"{"periodMax": 2}"#),
        ("tim-7", r#"{"durationMax": 2}"#),
        ("tim-8", r#"{"countMax": 2}"#),
        ("tim-9", r#"{"offset": 10, "when": ["C"]}"#),
        ("tim-10", r#"{"timeOfDay": ["10:00:00"], "when": ["MORN"]}"#),
    ];

    #[test]
    fn validate_invariants_core_keys_catch_their_violation() {
        std::sync::LazyLock::force(&super::super::core::CORE);
        let loaded = loaded();
        let mut wrong = Vec::new();
        for (key, focus) in BROKEN {
            let focus: Value = serde_json::from_str(focus).unwrap();
            let Some(c) = loaded.iter().find(|c| c.key == *key) else {
                wrong.push(format!("{key}: not loaded"));
                continue;
            };
            let outcome = evaluate(&[&**c], &focus, &focus, &focus).pop().unwrap().1;
            let judged = !NOT_JUDGED.iter().any(|(k, _)| k == key);
            if judged != (outcome == Outcome::Fails) {
                wrong.push(format!("{key}: {outcome:?}"));
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
        // Every loaded constraint parses (the keys above cover those on our types' elements;
        // drq-*, exp-1 and trd-* sit on data types only extensions use).
        for c in &loaded {
            if c.key.starts_with("t-") {
                continue;
            }
            assert!(c.ast.is_some(), "{} does not parse", c.key);
        }
    }

    #[test]
    fn validate_invariants_focus_is_cut_to_the_names_used() {
        let used = names("dataAbsentReason.empty() or value.empty()");
        let focus = json!({"resourceType": "Observation", "valueQuantity": {"value": 1},
                           "dataAbsentReason": {"text": "x"}, "code": {"text": "c"}});
        assert_eq!(
            pruned(&focus, used.as_deref()),
            json!({"resourceType": "Observation", "valueQuantity": {"value": 1},
                   "dataAbsentReason": {"text": "x"}})
        );
        assert_eq!(names("children().count() > 1"), None);
    }

    #[test]
    fn validate_invariants_ref_1_local_references_resolve() {
        let root = json!({"contained": [{"resourceType": "Patient", "id": "p"}]});
        assert_eq!(ref_1(&json!({"reference": "#p"}), &root), None);
        assert_eq!(ref_1(&json!({"reference": "#"}), &root), None);
        assert_eq!(ref_1(&json!({"reference": "Patient/p"}), &root), None);
        assert_eq!(ref_1(&json!({"reference": "#q"}), &root), Some("q"));
    }

    #[test]
    fn validate_invariants_dom_3_needs_a_reference() {
        let r = json!({"resourceType": "Observation",
            "contained": [{"resourceType": "Patient", "id": "p"}, {"resourceType": "Patient", "id": "q"}],
            "subject": {"reference": "#p"}});
        assert_eq!(dom_3(&r), vec![(1, "q".to_string())]);
        // A contained resource that points at its container is fine.
        let r = json!({"resourceType": "Observation",
            "contained": [{"resourceType": "Provenance", "id": "v", "target": [{"reference": "#"}]}]});
        assert!(dom_3(&r).is_empty());
    }
}
