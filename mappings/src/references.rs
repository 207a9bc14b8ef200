//! Literal references in a resource, for the write path's check that references to served
//! types resolve within the tenant.

use serde_json::Value;

use crate::index::split_reference;

/// A literal `Type/id` reference found in a resource, with its FHIRPath location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundReference {
    pub expression: String,
    pub target_type: String,
    pub target_id: String,
}

/// Every local literal reference (`Type/id`, optionally versioned, or an absolute URL under
/// `local_base`, this server's FHIR base) in `resource`, outside contained resources.
/// Other absolute URLs, `#contained` and `urn:` references are not local.
pub fn literal_references(resource: &Value, local_base: &str) -> Vec<FoundReference> {
    let mut root = resource["resourceType"]
        .as_str()
        .unwrap_or("Resource")
        .to_string();
    let mut out = Vec::new();
    let base = format!("{}/", local_base.trim_end_matches('/'));
    walk(resource, &mut root, &mut out, true, &base);
    out
}

/// `path` is one buffer, extended and cut back on the way down: writes walk every
/// resource, and a string per element was most of the walk's cost.
fn walk(node: &Value, path: &mut String, out: &mut Vec<FoundReference>, top: bool, base: &str) {
    let len = path.len();
    match node {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get("reference") {
                let local = match r.strip_prefix(base) {
                    Some(rest) if base.len() > 1 => rest,
                    _ => r.as_str(),
                };
                if let (Some(t), Some(i), None) = split_reference(local) {
                    out.push(FoundReference {
                        expression: format!("{path}.reference"),
                        target_type: t,
                        target_id: i,
                    });
                }
            }
            for (k, v) in o {
                if top && k == "contained" {
                    continue;
                }
                path.push('.');
                path.push_str(k);
                walk(v, path, out, false, base);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                use std::fmt::Write;
                let _ = write!(path, "[{i}]");
                walk(v, path, out, false, base);
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
    fn finds_relative_references_with_their_paths() {
        let o = json!({
            "resourceType": "Observation",
            "subject": {"reference": "Patient/p1"},
            "performer": [{"reference": "Practitioner/x/_history/2"}, {"reference": "#c1"}, {"reference": "http://other.example/fhir/Patient/9"}],
            "contained": [{"resourceType": "Device", "patient": {"reference": "Patient/zz"}}]
        });
        let found = literal_references(&o, "http://this.example/fhir");
        assert_eq!(
            found,
            vec![
                FoundReference {
                    expression: "Observation.subject.reference".into(),
                    target_type: "Patient".into(),
                    target_id: "p1".into()
                },
                FoundReference {
                    expression: "Observation.performer[0].reference".into(),
                    target_type: "Practitioner".into(),
                    target_id: "x".into()
                },
            ]
        );
    }
}
