//! The `path` of asserts and variables. Three forms are read:
//! - XPath as the R4 examples write it (`fhir:Patient/fhir:name/fhir:family/@value`,
//!   `Patient/id`): child steps with an optional prefix and `[n]`, and a final `@attribute`.
//!   On an XML body it walks the XML; on JSON it walks the same names (`@value` is the
//!   primitive itself), so the XPath asserts of a script work whichever format was asked.
//! - JSON paths as Touchstone's JSON scripts write them (`.total`, `$.entry[0].resource.id`).
//! - anything else is FHIRPath.
//!
//! Like XPath's `string()` of a node set, an assert compares the first value found.

use serde_json::Value;

use super::fhirpath;
use super::http::Body;
use super::xml_tree;

/// One XPath step: an element name and an optional 1-based position.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub name: String,
    pub index: Option<usize>,
}

/// The values `path` selects in `body`, in document order.
pub fn values(body: &Body, path: &str) -> Result<Vec<String>, String> {
    let path = path.trim();
    if path.starts_with('$') || path.starts_with('.') {
        return Ok(json_path(json_of(body, path)?, path)?
            .into_iter()
            .filter_map(scalar)
            .collect());
    }
    if path.contains('/') || path.starts_with("fhir:") {
        let (steps, attribute) = parse_xpath(path)?;
        if let Some(xml) = &body.xml {
            return xml_tree::select(xml, &steps, attribute.as_deref());
        }
        return Ok(xpath_on_json(
            json_of(body, path)?,
            &steps,
            attribute.as_deref(),
        ));
    }
    fhirpath::strings(path, json_of(body, path)?)
}

/// The first value `path` selects, if any.
pub fn first(body: &Body, path: &str) -> Result<Option<String>, String> {
    Ok(values(body, path)?.into_iter().next())
}

fn json_of<'a>(body: &'a Body, path: &str) -> Result<&'a Value, String> {
    body.json
        .as_ref()
        .ok_or_else(|| format!("path '{path}': the body is not a FHIR resource"))
}

/// A JSON leaf as text; objects and arrays as their JSON.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(_) | Value::Number(_) => Some(v.to_string()),
        other => Some(other.to_string()),
    }
}

/// `fhir:Bundle/fhir:entry[2]/fhir:fullUrl/@value` → steps and the attribute.
pub fn parse_xpath(path: &str) -> Result<(Vec<Step>, Option<String>), String> {
    let unsupported = || format!("XPath '{path}' is beyond the child steps this engine reads");
    if path.contains("//") {
        return Err(unsupported());
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut steps = Vec::new();
    let mut attribute = None;
    for (i, segment) in segments.iter().enumerate() {
        if let Some(attr) = segment.strip_prefix('@') {
            if i + 1 != segments.len() {
                return Err(unsupported());
            }
            attribute = Some(local(attr).to_string());
            continue;
        }
        let (name, index) = match segment.split_once('[') {
            None => (*segment, None),
            Some((name, rest)) => {
                let n: usize = rest
                    .strip_suffix(']')
                    .and_then(|n| n.trim().parse().ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(unsupported)?;
                (name, Some(n))
            }
        };
        let name = local(name);
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        {
            return Err(unsupported());
        }
        steps.push(Step {
            name: name.to_string(),
            index,
        });
    }
    if steps.is_empty() {
        return Err(unsupported());
    }
    Ok((steps, attribute))
}

/// `fhir:family` → `family`.
fn local(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, l)| l)
}

/// The XPath walk on the JSON form: the first step is the resource type.
fn xpath_on_json(json: &Value, steps: &[Step], attribute: Option<&str>) -> Vec<String> {
    let Some((root, rest)) = steps.split_first() else {
        return Vec::new();
    };
    if json.get("resourceType").and_then(Value::as_str) != Some(root.name.as_str()) {
        return Vec::new();
    }
    let mut current = vec![json];
    for step in rest {
        let mut next = Vec::new();
        for node in current {
            let children: Vec<&Value> = match node.get(&step.name) {
                Some(Value::Array(items)) => items.iter().collect(),
                Some(v) => vec![v],
                None => Vec::new(),
            };
            match step.index {
                Some(n) => next.extend(children.get(n - 1).copied()),
                None => next.extend(children),
            }
        }
        current = next;
    }
    current
        .into_iter()
        .filter_map(|node| match attribute {
            // A primitive's `value` attribute is the JSON primitive itself.
            Some("value") if !node.is_object() => scalar(node),
            Some(attr) => node.get(attr).and_then(scalar),
            None => scalar(node),
        })
        .collect()
}

/// A Touchstone-style JSON path: `.name`, `[n]` (0-based), `[*]`, from the root; names
/// step into every item of an array.
fn json_path<'a>(json: &'a Value, path: &str) -> Result<Vec<&'a Value>, String> {
    let bad = || format!("JSON path '{path}' is not understood");
    let mut rest = path.strip_prefix('$').unwrap_or(path);
    let mut current = vec![json];
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let name = &r[..end];
            if name.is_empty() {
                return Err(bad());
            }
            let mut next = Vec::new();
            for node in current {
                match node {
                    Value::Array(items) => next.extend(items.iter().filter_map(|i| i.get(name))),
                    _ => next.extend(node.get(name)),
                }
            }
            current = next;
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').ok_or_else(bad)?;
            let index = r[..end].trim();
            let mut next = Vec::new();
            for node in current {
                let Value::Array(items) = node else { continue };
                if index == "*" {
                    next.extend(items.iter());
                } else {
                    let i: usize = index.parse().map_err(|_| bad())?;
                    next.extend(items.get(i));
                }
            }
            current = next;
            rest = &r[end + 1..];
        } else {
            return Err(bad());
        }
    }
    // A path that ends at an array selects its items.
    Ok(current
        .into_iter()
        .flat_map(|v| match v {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        })
        .collect())
}
