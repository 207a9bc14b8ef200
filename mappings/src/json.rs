//! Small helpers for reading FHIR JSON without a typed model.

use serde_json::{Map, Value};

/// The elements of `key` as a slice view: FHIR repeats elements as arrays, single ones as values.
pub fn items<'a>(obj: &'a Value, key: &str) -> Vec<&'a Value> {
    match obj.get(key) {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v) => vec![v],
        None => Vec::new(),
    }
}

pub fn str_of<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

/// The object behind `value`, creating an empty one when `value` is not an object.
pub fn object_mut(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    match value {
        Value::Object(m) => m,
        _ => unreachable!("just replaced with an object"),
    }
}

/// Sets `key` to `value`, or removes it when `value` is `None`.
pub fn set_or_remove(obj: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    match value {
        Some(v) => {
            obj.insert(key.to_string(), v);
        }
        None => {
            obj.shift_remove(key);
        }
    }
}

/// The array under `key`, created when missing and wrapping a single value.
pub fn array_mut<'a>(obj: &'a mut Map<String, Value>, key: &str) -> &'a mut Vec<Value> {
    let entry = obj
        .entry(key.to_string())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !entry.is_array() {
        *entry = Value::Array(vec![entry.take()]);
    }
    entry.as_array_mut().expect("just made an array")
}

/// FHIR forbids empty arrays: removes `key` when its array became empty.
pub fn drop_if_empty(obj: &mut Map<String, Value>, key: &str) {
    if obj
        .get(key)
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
    {
        obj.shift_remove(key);
    }
}
