//! Search parameter definitions and the extraction of index values from a resource.
//!
//! A parameter names the elements it covers with simple paths (`name.given`,
//! `telecom[system=phone]`); the value's FHIR type is read from its JSON shape, so one
//! extractor serves every resource.

use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

use crate::dates::{self, DateRange};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Token,
    String,
    Date,
    Reference,
    Quantity,
    /// A token and a quantity on the same element (`code-value-quantity`): `paths` name the
    /// elements that carry both a `code` and a `value[x]` Quantity.
    TokenQuantity,
    /// A URI, matched whole or by `:above`/`:below` (`_profile`).
    Uri,
}

impl ParamKind {
    pub fn code(self) -> &'static str {
        match self {
            ParamKind::Token => "token",
            ParamKind::String => "string",
            ParamKind::Date => "date",
            ParamKind::Reference => "reference",
            ParamKind::Quantity => "quantity",
            ParamKind::TokenQuantity => "composite",
            ParamKind::Uri => "uri",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct SearchParamDef {
    pub name: &'static str,
    pub kind: ParamKind,
    /// Paths relative to the resource; `elem[key=value]` keeps the items whose `key` is `value`.
    pub paths: &'static [&'static str],
    /// The canonical SearchParameter this one implements, for the CapabilityStatement.
    pub definition: &'static str,
    pub documentation: &'static str,
    /// For references: the resource types the parameter may point to (empty: any).
    pub targets: &'static [&'static str],
}

/// The base for parameter definitions: `SearchParamDef { name: "…", ..PARAM }`.
pub const PARAM: SearchParamDef = SearchParamDef {
    name: "",
    kind: ParamKind::Token,
    paths: &[],
    definition: "",
    documentation: "",
    targets: &[],
};

#[derive(Debug, Clone, PartialEq)]
pub enum IndexValue {
    Token {
        system: Option<String>,
        code: String,
    },
    String {
        normalized: String,
        exact: String,
    },
    Date(DateRange),
    /// A literal reference, split into type and id when it is relative (`Patient/1`) or
    /// absolute with a recognisable `Type/id` tail; `url` keeps absolute references.
    Reference {
        target_type: Option<String>,
        target_id: Option<String>,
        url: Option<String>,
    },
    Quantity(QuantityValue),
    TokenQuantity {
        system: Option<String>,
        code: String,
        quantity: QuantityValue,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct QuantityValue {
    pub value: f64,
    pub system: Option<String>,
    pub code: Option<String>,
    pub unit: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IndexEntry {
    pub param: &'static str,
    pub value: IndexValue,
}

/// Case- and accent-insensitive form used by string search (`Ås` finds `as`, `Øvre` `øvre`).
pub fn normalize_string(s: &str) -> String {
    s.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

pub fn extract(resource: &Value, params: &[SearchParamDef]) -> Vec<IndexEntry> {
    let mut out = Vec::new();
    for def in params {
        for path in def.paths {
            for node in select(resource, path) {
                index_node(def, node, &mut out);
            }
        }
    }
    out.dedup();
    out
}

/// The values at `path`, with arrays flattened at every step.
/// The empty path selects `root` itself.
pub fn select<'a>(root: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut current = vec![root];
    if path.is_empty() {
        return current;
    }
    for step in path.split('.') {
        let (name, filter) = match step.split_once('[').filter(|_| !step.ends_with("[x]")) {
            Some((n, rest)) => {
                let cond = rest.trim_end_matches(']');
                (n, cond.split_once('='))
            }
            None => (step, None),
        };
        let mut next = Vec::new();
        for node in current {
            let found = if let Some(prefix) = name.strip_suffix("[x]") {
                choice_value(node, prefix)
            } else {
                node.get(name)
            };
            match found {
                Some(Value::Array(items)) => next.extend(items.iter()),
                Some(v) => next.push(v),
                None => {}
            }
        }
        if let Some((key, wanted)) = filter {
            next.retain(|v| v.get(key).and_then(Value::as_str) == Some(wanted));
        }
        current = next;
    }
    current
}

fn choice_value<'a>(node: &'a Value, prefix: &str) -> Option<&'a Value> {
    node.as_object()?.iter().find_map(|(k, v)| {
        let rest = k.strip_prefix(prefix)?;
        rest.starts_with(|c: char| c.is_ascii_uppercase())
            .then_some(v)
    })
}

fn index_node(def: &SearchParamDef, node: &Value, out: &mut Vec<IndexEntry>) {
    let mut push = |value| {
        out.push(IndexEntry {
            param: def.name,
            value,
        })
    };
    match def.kind {
        ParamKind::Token => {
            for (system, code) in tokens(node) {
                push(IndexValue::Token { system, code });
            }
            // `:of-type` rows: the identifier's type as the system, `type-system|type-code`
            // (the writer hashes national identity numbers in these rows too).
            if let Some(value) = node.get("value").and_then(Value::as_str) {
                for (system, code) in node.get("type").map(tokens).unwrap_or_default() {
                    push(IndexValue::Token {
                        system: Some(format!("{}|{code}", system.unwrap_or_default())),
                        code: value.to_string(),
                    });
                }
            }
            // `:text` rows: the text and displays, as strings under the token's name.
            for text in token_texts(node) {
                push(IndexValue::String {
                    normalized: normalize_string(text),
                    exact: text.to_string(),
                });
            }
        }
        ParamKind::Uri => {
            if let Some(uri) = node.as_str() {
                push(IndexValue::Token {
                    system: None,
                    code: uri.to_string(),
                });
            }
        }
        ParamKind::String => {
            for s in strings(node) {
                push(IndexValue::String {
                    normalized: normalize_string(s),
                    exact: s.to_string(),
                });
            }
        }
        ParamKind::Date => {
            if let Some(range) = date_range(node) {
                push(IndexValue::Date(range));
            }
        }
        ParamKind::Reference => {
            if let Some(r) = node.get("reference").and_then(Value::as_str) {
                let (target_type, target_id, url) = split_reference(r);
                // `patient` covers `subject` only where the subject is a Patient.
                let allowed = def.targets.is_empty()
                    || target_type
                        .as_deref()
                        .is_some_and(|t| def.targets.contains(&t));
                if allowed {
                    push(IndexValue::Reference {
                        target_type,
                        target_id,
                        url,
                    });
                }
            }
            // `:identifier` rows: a logical reference's identifier, as a token under the
            // reference's name.
            if let Some(identifier) = node.get("identifier") {
                let typed = node.get("type").and_then(Value::as_str);
                let allowed =
                    def.targets.is_empty() || typed.is_none_or(|t| def.targets.contains(&t));
                if allowed {
                    for (system, code) in tokens(identifier) {
                        push(IndexValue::Token { system, code });
                    }
                }
            }
        }
        ParamKind::Quantity => {
            if let Some(q) = quantity(node) {
                push(IndexValue::Quantity(q));
            }
        }
        ParamKind::TokenQuantity => {
            let Some(q) = choice_value(node, "value").and_then(quantity) else {
                return;
            };
            for code in node.get("code").map(tokens).unwrap_or_default() {
                push(IndexValue::TokenQuantity {
                    system: code.0,
                    code: code.1,
                    quantity: q.clone(),
                });
            }
        }
    }
}

/// `Type/id`, `Type/id/_history/n` or an absolute URL ending in `Type/id` → (type, id, url).
/// Contained (`#x`) and other references keep only their text.
pub fn split_reference(r: &str) -> (Option<String>, Option<String>, Option<String>) {
    let path = r.split("/_history/").next().unwrap_or(r);
    let absolute = path.contains("://") || path.starts_with("urn:");
    let mut parts = path.rsplit('/');
    let (id, ty) = (parts.next(), parts.next());
    match (ty, id) {
        (Some(t), Some(i))
            if !t.is_empty()
                && t.starts_with(|c: char| c.is_ascii_uppercase())
                && t.chars().all(|c| c.is_ascii_alphanumeric())
                && !i.is_empty() =>
        {
            let url = absolute.then(|| path.to_string());
            (Some(t.to_string()), Some(i.to_string()), url)
        }
        _ => (None, None, Some(r.to_string())),
    }
}

fn quantity(node: &Value) -> Option<QuantityValue> {
    let value = node.get("value")?;
    let value = match value {
        Value::Number(n) => n.as_f64()?,
        _ => return None,
    };
    let s = |k: &str| node.get(k).and_then(Value::as_str).map(str::to_string);
    Some(QuantityValue {
        value,
        system: s("system"),
        code: s("code"),
        unit: s("unit"),
    })
}

fn tokens(node: &Value) -> Vec<(Option<String>, String)> {
    let owned = |s: Option<&str>| s.map(str::to_string);
    match node {
        Value::String(s) => vec![(None, s.clone())],
        Value::Bool(b) => vec![(None, b.to_string())],
        Value::Object(o) => {
            if let Some(codings) = o.get("coding").and_then(Value::as_array) {
                codings.iter().flat_map(tokens).collect()
            } else if let Some(code) = o.get("code").and_then(Value::as_str) {
                vec![(
                    owned(o.get("system").and_then(Value::as_str)),
                    code.to_string(),
                )]
            } else if let Some(value) = o.get("value").and_then(Value::as_str) {
                // Identifier and ContactPoint: the system qualifies the value.
                vec![(
                    owned(o.get("system").and_then(Value::as_str)),
                    value.to_string(),
                )]
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    }
}

/// The `text` of a CodeableConcept and the `display` of its codings (or of a Coding).
fn token_texts(node: &Value) -> Vec<&str> {
    let mut out: Vec<&str> = node
        .get("text")
        .and_then(Value::as_str)
        .into_iter()
        .collect();
    let codings = match node.get("coding") {
        Some(Value::Array(items)) => items.iter().collect(),
        _ => vec![node],
    };
    out.extend(
        codings
            .into_iter()
            .filter_map(|c| c.get("display").and_then(Value::as_str)),
    );
    out
}

fn strings(node: &Value) -> Vec<&str> {
    const COMPOSITE_PARTS: &[&str] = &[
        "text",
        "family",
        "given",
        "prefix",
        "suffix",
        "line",
        "city",
        "district",
        "state",
        "postalCode",
        "country",
    ];
    match node {
        Value::String(s) => vec![s.as_str()],
        Value::Object(o) => COMPOSITE_PARTS
            .iter()
            .flat_map(|k| match o.get(*k) {
                Some(Value::String(s)) => vec![s.as_str()],
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn date_range(node: &Value) -> Option<DateRange> {
    match node {
        Value::String(s) => dates::parse_range(s),
        Value::Object(o) => {
            // A Period: an open end reaches to the end of time, as the search spec says.
            let start = o
                .get("start")
                .and_then(Value::as_str)
                .and_then(dates::parse_range);
            let end = o
                .get("end")
                .and_then(Value::as_str)
                .and_then(dates::parse_range);
            if start.is_none() && end.is_none() {
                return None;
            }
            Some(DateRange {
                low: start.map_or(i64::MIN, |r| r.low),
                high: end.map_or(i64::MAX, |r| r.high),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DEFS: &[SearchParamDef] = &[
        SearchParamDef {
            name: "identifier",
            kind: ParamKind::Token,
            paths: &["identifier"],
            ..PARAM
        },
        SearchParamDef {
            name: "phone",
            kind: ParamKind::Token,
            paths: &["telecom[system=phone]"],
            ..PARAM
        },
        SearchParamDef {
            name: "name",
            kind: ParamKind::String,
            paths: &["name"],
            ..PARAM
        },
        SearchParamDef {
            name: "birthdate",
            kind: ParamKind::Date,
            paths: &["birthDate"],
            ..PARAM
        },
        SearchParamDef {
            name: "gender",
            kind: ParamKind::Token,
            paths: &["gender"],
            ..PARAM
        },
    ];

    #[test]
    fn extracts_each_kind_from_its_json_shape() {
        let p = json!({
            "resourceType": "Patient",
            "identifier": [{"system": "urn:x", "value": "1"}, {"value": "2"}],
            "telecom": [{"system": "email", "value": "a@b.no"}, {"system": "phone", "value": "+47 1"}],
            "name": [{"family": "Ås", "given": ["Kari", "Øyvor"]}],
            "birthDate": "1974-12-25",
            "gender": "female"
        });
        let entries = extract(&p, DEFS);
        let tok = |param, system: Option<&str>, code: &str| IndexEntry {
            param,
            value: IndexValue::Token {
                system: system.map(str::to_string),
                code: code.to_string(),
            },
        };
        assert!(entries.contains(&tok("identifier", Some("urn:x"), "1")));
        assert!(entries.contains(&tok("identifier", None, "2")));
        assert!(entries.contains(&tok("phone", Some("phone"), "+47 1")));
        assert!(!entries.iter().any(|e| e.param == "phone"
            && matches!(&e.value, IndexValue::Token{code, ..} if code == "a@b.no")));
        assert!(entries.contains(&tok("gender", None, "female")));
        let names: Vec<_> = entries
            .iter()
            .filter_map(|e| match &e.value {
                IndexValue::String { normalized, .. } => Some(normalized.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(names, vec!["as", "kari", "øyvor"]);
        assert!(entries.iter().any(|e| e.param == "birthdate"));
    }

    #[test]
    fn choice_elements_and_periods() {
        let o = json!({"effectivePeriod": {"start": "2020-01-01"}});
        assert_eq!(select(&o, "effective[x]").len(), 1);
        let r = date_range(select(&o, "effective[x]")[0]).unwrap();
        assert_eq!(r.high, i64::MAX);
    }
}
