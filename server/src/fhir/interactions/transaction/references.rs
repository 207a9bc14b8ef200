//! References between the entries of a Bundle: a reference to an entry's `fullUrl`
//! (`urn:uuid:…`, `urn:oid:…` or an absolute URL) becomes the `Type/id` the entry was
//! given, and a conditional reference (`Patient?identifier=…`) the one resource its search
//! finds. Pure: the searches are the caller's.

use std::collections::HashMap;

use serde_json::Value;

/// A reference found in a resource, with its FHIRPath location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub expression: String,
    pub reference: String,
}

/// Whether `reference` can only name an entry of the same Bundle.
pub fn is_placeholder(reference: &str) -> bool {
    reference.starts_with("urn:uuid:") || reference.starts_with("urn:oid:")
}

/// `Patient?identifier=…`: a type, then a query, and no path.
pub fn conditional_parts(reference: &str) -> Option<(&str, &str)> {
    let (type_name, query) = reference.split_once('?')?;
    let is_type = type_name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_uppercase())
        && type_name.chars().all(|c| c.is_ascii_alphanumeric());
    is_type.then_some((type_name, query))
}

/// Every conditional reference in `resource`, contained resources included.
pub fn conditional(resource: &mut Value) -> Vec<Found> {
    let mut found = Vec::new();
    let mut path = root_path(resource);
    visit(resource, &mut path, &mut |expression, reference| {
        if conditional_parts(reference).is_some() {
            found.push(Found {
                expression: expression.to_string(),
                reference: reference.to_string(),
            });
        }
        None
    });
    found
}

/// Replaces every reference that is a key of `identities` by its value, contained
/// resources included. Returns the placeholders (`urn:…`) that name no identity, which
/// would otherwise be stored pointing nowhere.
pub fn rewrite(resource: &mut Value, identities: &HashMap<String, String>) -> Vec<Found> {
    let mut unresolved = Vec::new();
    let mut path = root_path(resource);
    visit(resource, &mut path, &mut |expression, reference| {
        if let Some(to) = identities.get(reference) {
            return Some(to.clone());
        }
        if is_placeholder(reference) {
            unresolved.push(Found {
                expression: expression.to_string(),
                reference: reference.to_string(),
            });
        }
        None
    });
    unresolved
}

fn root_path(resource: &Value) -> String {
    resource["resourceType"]
        .as_str()
        .unwrap_or("Resource")
        .to_string()
}

/// Calls `f` with the path and value of every `reference` string under `node`; a value
/// `f` returns replaces it.
fn visit(node: &mut Value, path: &mut String, f: &mut impl FnMut(&str, &str) -> Option<String>) {
    let len = path.len();
    match node {
        Value::Object(fields) => {
            for (key, value) in fields.iter_mut() {
                path.push('.');
                path.push_str(key);
                match value {
                    Value::String(reference) if key == "reference" => {
                        if let Some(to) = f(path, reference) {
                            *reference = to;
                        }
                    }
                    other => visit(other, path, f),
                }
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                use std::fmt::Write;
                let _ = write!(path, "[{i}]");
                visit(item, path, f);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rewrites_every_reference_to_an_identity_and_reports_stray_placeholders() {
        let mut obs = json!({
            "resourceType": "Observation",
            "subject": {"reference": "urn:uuid:p"},
            "performer": [{"reference": "Practitioner/1"}, {"reference": "urn:uuid:nowhere"}],
            "contained": [{"resourceType": "Device", "patient": {"reference": "urn:uuid:p"}}]
        });
        let identities = HashMap::from([("urn:uuid:p".to_string(), "Patient/42".to_string())]);
        let unresolved = rewrite(&mut obs, &identities);
        assert_eq!(obs["subject"]["reference"], "Patient/42");
        assert_eq!(obs["contained"][0]["patient"]["reference"], "Patient/42");
        assert_eq!(obs["performer"][0]["reference"], "Practitioner/1");
        assert_eq!(
            unresolved,
            vec![Found {
                expression: "Observation.performer[1].reference".into(),
                reference: "urn:uuid:nowhere".into()
            }]
        );
    }

    #[test]
    fn conditional_references_are_a_type_and_a_query() {
        let mut obs = json!({
            "resourceType": "Observation",
            "subject": {"reference": "Patient?identifier=urn:oid:1|2"},
            "focus": [{"reference": "http://x.example/Patient?x=1"}]
        });
        let found = conditional(&mut obs);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].expression, "Observation.subject.reference");
        assert_eq!(
            conditional_parts("Patient?identifier=a|b"),
            Some(("Patient", "identifier=a|b"))
        );
    }
}
