//! FHIRPath through `rh-fhirpath`, on a resource's JSON; results as the strings asserts
//! compare.

use rh_fhirpath::{EvaluationContext, FhirPathEvaluator, FhirPathParser, FhirPathValue};
use serde_json::Value;

fn evaluate(expression: &str, resource: &Value) -> Result<FhirPathValue, String> {
    let parsed = FhirPathParser::new()
        .parse(expression)
        .map_err(|e| format!("FHIRPath '{expression}' does not parse: {e}"))?;
    let context = EvaluationContext::new(resource.clone());
    // A script is input: an expression the library cannot handle must fail the assert,
    // not the run, should the library panic on it.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        FhirPathEvaluator::new().evaluate(&parsed, &context)
    }))
    .map_err(|_| format!("FHIRPath '{expression}' cannot be evaluated"))?;
    result.map_err(|e| format!("FHIRPath '{expression}': {e}"))
}

/// The result collection as strings: primitives as their FHIR string form, complex values
/// as JSON text.
pub fn strings(expression: &str, resource: &Value) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    flatten(evaluate(expression, resource)?, &mut out);
    Ok(out)
}

/// The result as a boolean: a single boolean, or false for an empty collection.
pub fn boolean(expression: &str, resource: &Value) -> Result<bool, String> {
    let mut items = Vec::new();
    collect(evaluate(expression, resource)?, &mut items);
    match items.as_slice() {
        [] => Ok(false),
        [FhirPathValue::Boolean(b)] | [FhirPathValue::TypedBoolean { value: b, .. }] => Ok(*b),
        _ => Err(format!(
            "FHIRPath '{expression}' is not a boolean: {}",
            render(&items)
        )),
    }
}

fn collect(value: FhirPathValue, out: &mut Vec<FhirPathValue>) {
    match value {
        FhirPathValue::Collection(items) | FhirPathValue::UnorderedCollection(items) => {
            items.into_iter().for_each(|i| collect(i, out))
        }
        FhirPathValue::Empty => {}
        FhirPathValue::FhirPrimitive { inner, .. } => collect(*inner, out),
        other => out.push(other),
    }
}

fn flatten(value: FhirPathValue, out: &mut Vec<String>) {
    let mut items = Vec::new();
    collect(value, &mut items);
    out.extend(items.iter().map(text));
}

fn text(value: &FhirPathValue) -> String {
    match value {
        FhirPathValue::Boolean(b) | FhirPathValue::TypedBoolean { value: b, .. } => b.to_string(),
        FhirPathValue::String(s)
        | FhirPathValue::TypedString { value: s, .. }
        | FhirPathValue::Date(s)
        | FhirPathValue::DateTime(s)
        | FhirPathValue::TypedDateTime { value: s, .. }
        | FhirPathValue::Time(s) => s.clone(),
        FhirPathValue::Number(n) => n.to_string(),
        FhirPathValue::Integer(i) | FhirPathValue::Long(i) => i.to_string(),
        FhirPathValue::Quantity { value, unit } => match unit {
            Some(u) => format!("{value} '{u}'"),
            None => value.to_string(),
        },
        other => match other.to_json() {
            Value::String(s) => s,
            json => json.to_string(),
        },
    }
}

fn render(items: &[FhirPathValue]) -> String {
    let texts: Vec<String> = items.iter().map(text).collect();
    format!("[{}]", texts.join(", "))
}
