//! Pieces of resources that several mappings read and patch the same way: identifiers,
//! references, the patient subject, codes, and the snapshot a mapping starts from.

use helsebro_profiles::identifiers::IdentifierError;
use serde_json::{json, Map, Value};

use crate::index::split_reference;
use crate::json::{array_mut, drop_if_empty, items, object_mut, set_or_remove, str_of};
use crate::MappingIssue;

/// Patches the name at `index` (or a new official name) with `patch`, sets its family and
/// given names, then drops names left with nothing but their `use`.
pub(crate) fn patch_name_at(
    obj: &mut Map<String, Value>,
    index: Option<usize>,
    family: Option<&str>,
    given: Option<&str>,
    patch: impl FnOnce(&mut Map<String, Value>),
) {
    let names = array_mut(obj, "name");
    let name = match index {
        Some(i) => &mut names[i],
        None => {
            names.push(json!({"use": "official"}));
            names.last_mut().expect("just pushed")
        }
    };
    let n = object_mut(name);
    set_or_remove(n, "family", family.map(|f| json!(f)));
    let given: Vec<&str> = given
        .map(|g| g.split_whitespace().collect())
        .unwrap_or_default();
    set_or_remove(n, "given", (!given.is_empty()).then(|| json!(given)));
    patch(n);
    names.retain(|v| v.as_object().is_some_and(|o| o.keys().any(|k| k != "use")));
    drop_if_empty(obj, "name");
}

/// The stored snapshot to patch, or a new resource of `resource_type` that claims `profile`.
pub(crate) fn snapshot_or_fresh(base: Option<&Value>, resource_type: &str, profile: &str) -> Value {
    base.cloned()
        .unwrap_or_else(|| json!({"resourceType": resource_type, "meta": {"profile": [profile]}}))
}

/// An identifier whose period has ended is history (a replaced number), not the current one.
pub(crate) fn is_current(identifier: &Value) -> bool {
    identifier
        .get("period")
        .and_then(|p| str_of(p, "end"))
        .is_none()
}

/// The first current identifier whose system `wanted` accepts.
pub(crate) fn current_identifier(
    resource: &Value,
    wanted: impl Fn(&str) -> bool,
) -> Option<&Value> {
    items(resource, "identifier")
        .into_iter()
        .filter(|i| is_current(i))
        .find(|i| str_of(i, "system").is_some_and(&wanted))
}

/// Checks every identifier whose system `check` knows; `check` answers with the number's
/// Norwegian name and the verdict. Issues point at the offending value.
pub(crate) fn check_identifiers(
    resource: &Value,
    resource_type: &str,
    check: impl Fn(&str, &str) -> Option<(&'static str, Result<(), IdentifierError>)>,
) -> Vec<MappingIssue> {
    let mut issues = Vec::new();
    for (i, identifier) in items(resource, "identifier").into_iter().enumerate() {
        let (Some(system), Some(value)) =
            (str_of(identifier, "system"), str_of(identifier, "value"))
        else {
            continue;
        };
        if let Some((name, Err(e))) = check(system, value) {
            issues.push(MappingIssue {
                expression: format!("{resource_type}.identifier[{i}].value"),
                message: format!("the value is not a valid {name} ({system}): {e}"),
            });
        }
    }
    issues
}

/// Writes the fields of `item` over the first entry of the list `key` that `is_slot` selects,
/// keeping its other fields, or appends `item` when none does. `None` removes every selected
/// entry, so that reading "the first selected" gives nothing afterwards.
pub(crate) fn patch_slot(
    obj: &mut Map<String, Value>,
    key: &str,
    is_slot: impl Fn(&Value) -> bool,
    item: Option<Value>,
) {
    let list = array_mut(obj, key);
    match (item, list.iter().position(&is_slot)) {
        (Some(Value::Object(fields)), Some(i)) => object_mut(&mut list[i]).extend(fields),
        (Some(item), _) => list.push(item),
        (None, _) => list.retain(|v| !is_slot(v)),
    }
    drop_if_empty(obj, key);
}

/// Writes `(system, value)` over the first current identifier whose system `of_kind` accepts,
/// or adds it; `None` removes every current identifier of that kind.
pub(crate) fn patch_identifier(
    obj: &mut Map<String, Value>,
    of_kind: impl Fn(&str) -> bool,
    identifier: Option<(&str, &str)>,
) {
    let slot = |i: &Value| is_current(i) && str_of(i, "system").is_some_and(&of_kind);
    let item = identifier.map(|(system, value)| json!({"system": system, "value": value}));
    patch_slot(obj, "identifier", slot, item);
}

/// The `reference` of the Reference at `key`, as written.
pub(crate) fn reference_at<'a>(resource: &'a Value, key: &str) -> Option<&'a str> {
    resource.get(key).and_then(|r| str_of(r, "reference"))
}

/// Replaces the Reference at `key` with one to `reference`, or removes it.
pub(crate) fn set_reference(obj: &mut Map<String, Value>, key: &str, reference: Option<&str>) {
    set_or_remove(obj, key, reference.map(|r| json!({"reference": r})));
}

/// The id of the platform patient `subject` points to: only a relative `Patient/{id}` names a
/// patient on this server.
pub(crate) fn subject_patient_id(resource: &Value) -> Option<String> {
    match split_reference(reference_at(resource, "subject")?) {
        (Some(t), Some(id), None) if t == "Patient" => Some(id),
        _ => None,
    }
}

/// Platform records of this kind belong to one patient on this server.
pub(crate) fn check_patient_subject(
    resource: &Value,
    resource_type: &str,
    issues: &mut Vec<MappingIssue>,
) {
    if subject_patient_id(resource).is_some() {
        return;
    }
    let (expression, what) = match reference_at(resource, "subject") {
        Some(r) => (
            format!("{resource_type}.subject.reference"),
            format!("'{r}' is not"),
        ),
        None => (
            format!("{resource_type}.subject"),
            "the subject must be".to_string(),
        ),
    };
    issues.push(MappingIssue {
        expression,
        message: format!("{what} a reference to a Patient on this server (Patient/{{id}})"),
    });
}

/// The code at `key` must be one of `allowed` (a required binding the record relies on).
pub(crate) fn check_code(
    resource: &Value,
    resource_type: &str,
    key: &str,
    allowed: &[&str],
    issues: &mut Vec<MappingIssue>,
) {
    let code = str_of(resource, key).unwrap_or_default();
    if !allowed.contains(&code) {
        issues.push(MappingIssue {
            expression: format!("{resource_type}.{key}"),
            message: format!("'{code}' is not one of {}", allowed.join(" | ")),
        });
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Assertions the mapping tests of this crate's resource modules share.

    use std::fmt::Debug;

    use serde_json::Value;

    use crate::dates::format_instant;
    use crate::index::{extract, IndexValue, SearchParamDef};
    use crate::MappingError;

    /// The index values of `param`, written compactly: `system|code` (or the bare code),
    /// normalised strings, `low..high` instants (open ends left empty), `Type/id` or the URL.
    pub(crate) fn indexed(resource: &Value, params: &[SearchParamDef], param: &str) -> Vec<String> {
        let instant = |micros: i64| {
            if micros == i64::MIN || micros == i64::MAX {
                String::new()
            } else {
                format_instant(micros)
            }
        };
        extract(resource, params)
            .into_iter()
            .filter(|e| e.param == param)
            .map(|e| match e.value {
                IndexValue::Token { system, code } => match system {
                    Some(system) => format!("{system}|{code}"),
                    None => code,
                },
                IndexValue::String { normalized, .. } => normalized,
                IndexValue::Date(range) => {
                    format!("{}..{}", instant(range.low), instant(range.high))
                }
                IndexValue::Reference {
                    target_type: Some(t),
                    target_id: Some(id),
                    url: None,
                } => format!("{t}/{id}"),
                IndexValue::Reference { url, .. } => url.unwrap_or_default(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    /// The resource passes the R4 core structure check the write path runs first.
    pub(crate) fn assert_valid_r4(resource: &Value) {
        let issues = helsebro_profiles::structure::check_resource(resource);
        assert!(issues.is_empty(), "{issues:?}: {resource}");
    }

    /// The expressions of a mapping's issues, in order (none when it mapped).
    pub(crate) fn issues_of<R: Debug>(result: Result<R, MappingError>) -> Vec<String> {
        match result {
            Ok(_) => Vec::new(),
            Err(e) => e.issues.into_iter().map(|i| i.expression).collect(),
        }
    }

    /// A resource whose record has not changed is given back exactly as written; returns the
    /// record.
    pub(crate) fn assert_snapshot_round_trip<R>(
        written: &Value,
        from_fhir: impl Fn(&Value) -> Result<R, MappingError>,
        to_fhir: impl Fn(&R, Option<&Value>) -> Value,
    ) -> R {
        let record = from_fhir(written).unwrap_or_else(|e| panic!("{e}: {written}"));
        assert_eq!(&to_fhir(&record, Some(written)), written);
        record
    }
}
