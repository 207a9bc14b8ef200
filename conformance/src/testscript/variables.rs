//! Variables and `${name}` substitution. A variable is evaluated when it is used, so a
//! `headerField` or `expression` variable reads the response that exists by then. Its
//! value, in order: what its `headerField`, `expression` or `path` finds in its source
//! (`sourceId`, else the latest response); else the run's override of that name; else its
//! `defaultValue`. A variable with none of these (a `hint` for the tester) is an error
//! naming it, so the run says which `--var` is missing.

use serde_json::Value;

use super::fhirpath;
use super::paths;
use super::state::State;

fn value_of(state: &State, name: &str) -> Result<String, String> {
    let overridden = || {
        state
            .overrides
            .iter()
            .rev()
            .find_map(|(k, v)| (k == name).then(|| v.clone()))
    };
    let Some(variable) = state.variables.iter().find(|v| v.name == name) else {
        return overridden().ok_or_else(|| format!("unknown variable '{name}'"));
    };
    let source = variable.source_id.as_deref();
    let found = if let Some(field) = &variable.header_field {
        state
            .exchange(source)
            .ok()
            .and_then(|e| e.response_header(field).first().map(|v| v.to_string()))
    } else if let Some(expression) = &variable.expression {
        match state.body(source).ok().and_then(|b| b.json.as_ref()) {
            Some(json) => fhirpath::strings(expression, json)?.into_iter().next(),
            None => None,
        }
    } else if let Some(path) = &variable.path {
        match state.body(source) {
            Ok(body) => paths::first(body, path)?,
            Err(_) => None,
        }
    } else {
        None
    };
    found
        .or_else(overridden)
        .or_else(|| variable.default_value.clone())
        .ok_or_else(|| format!("variable '{name}' has no value (give one with --var {name}=VALUE)"))
}

/// `text` with every `${name}` replaced by the variable's value.
pub fn substitute(state: &State, text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start + 2..].find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        let name = &rest[start + 2..start + 2 + len];
        out.push_str(&value_of(state, name.trim())?);
        rest = &rest[start + 2 + len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A fixture body with `${name}` replaced in every string (as Touchstone does).
pub fn substitute_json(state: &State, value: &Value) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) if s.contains("${") => Value::String(substitute(state, s)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| substitute_json(state, i))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| Ok((k.clone(), substitute_json(state, v)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}
