//! `minimumId`: the response holds at least what the fixture holds, with Touchstone's
//! rules: `id` and `meta` of the resource are ignored, element order and array order do
//! not matter, and an item the fixture repeats must be there as many times (each fixture
//! item matches a different response item).

use serde_json::Value;

/// The paths of what `minimum` has and `actual` lacks; empty when `actual` ⊇ `minimum`.
pub fn missing(minimum: &Value, actual: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match (minimum.as_object(), actual.as_object()) {
        (Some(min), Some(act)) => {
            let root = min
                .get("resourceType")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            for (key, value) in min {
                if key == "id" || key == "meta" {
                    continue;
                }
                let path = format!("{root}.{key}");
                match act.get(key) {
                    Some(a) => differences(value, a, &path, &mut out),
                    None => out.push(path),
                }
            }
        }
        _ => differences(minimum, actual, "", &mut out),
    }
    out
}

fn differences(min: &Value, act: &Value, path: &str, out: &mut Vec<String>) {
    match (min, act) {
        (Value::Object(m), Value::Object(a)) => {
            for (key, value) in m {
                let child = format!("{path}.{key}");
                match a.get(key) {
                    Some(av) => differences(value, av, &child, out),
                    None => out.push(child),
                }
            }
        }
        (Value::Array(m), Value::Array(a)) => {
            if !array_contains(m, a) {
                out.push(format!("{path} (an item, or as many of equal items)"));
            }
        }
        _ => {
            if !same_primitive(min, act) {
                out.push(format!("{path} ({min} ≠ {act})"));
            }
        }
    }
}

/// `1.0` and `1.00` are the same decimal; otherwise primitives compare as JSON.
fn same_primitive(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.to_string(), y.to_string());
            matches!((x.parse::<f64>(), y.parse::<f64>()), (Ok(x), Ok(y)) if x == y)
        }
        _ => false,
    }
}

/// Whether `actual` ⊇ `minimum` as a value (the same rules below the root).
fn contains(minimum: &Value, actual: &Value) -> bool {
    let mut out = Vec::new();
    differences(minimum, actual, "", &mut out);
    out.is_empty()
}

/// Whether every item of `min` matches a different item of `act`: a bipartite matching,
/// found by augmenting paths (arrays in resources are short).
fn array_contains(min: &[Value], act: &[Value]) -> bool {
    if min.len() > act.len() {
        return false;
    }
    let fits: Vec<Vec<usize>> = min
        .iter()
        .map(|m| (0..act.len()).filter(|&j| contains(m, &act[j])).collect())
        .collect();
    let mut owner: Vec<Option<usize>> = vec![None; act.len()];
    fn assign(
        i: usize,
        fits: &[Vec<usize>],
        owner: &mut [Option<usize>],
        seen: &mut [bool],
    ) -> bool {
        for &j in &fits[i] {
            if seen[j] {
                continue;
            }
            seen[j] = true;
            let free = match owner[j] {
                None => true,
                Some(other) => assign(other, fits, owner, seen),
            };
            if free {
                owner[j] = Some(i);
                return true;
            }
        }
        false
    }
    (0..min.len()).all(|i| {
        let mut seen = vec![false; act.len()];
        assign(i, &fits, &mut owner, &mut seen)
    })
}
