//! Parsing of FHIR search parameters into clauses the compiler turns into SQL.

use helsebro_conformance::registry::ResourceDef;
use helsebro_mappings::index::{ParamKind, SearchParamDef};

use crate::fhir::error::ApiError;

pub const DEFAULT_COUNT: usize = 20;
pub const MAX_COUNT: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    Exact,
    Contains,
    Missing,
    Not,
}

#[derive(Debug, Clone)]
pub struct Clause {
    pub param: &'static SearchParamDef,
    pub modifier: Option<Modifier>,
    /// Alternatives (comma-separated in the request): any may match.
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Summary {
    Count,
    Data,
    Text,
    False,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    None,
    Accurate,
}

#[derive(Debug, Clone)]
pub struct ParsedSearch {
    pub clauses: Vec<Clause>,
    pub count: usize,
    pub cursor: Option<i64>,
    pub summary: Option<Summary>,
    pub elements: Option<Vec<String>>,
    pub total: Total,
    /// The parameters that took effect, for the `self` and paging links.
    pub applied: Vec<(String, String)>,
}

/// Parameters that shape the result instead of filtering it, or that the server ignores
/// by design (`_format` is negotiation, `_pretty` a display hint).
const RESULT_PARAMS: &[&str] = &[
    "_count",
    "_cursor",
    "_page",
    "_summary",
    "_elements",
    "_total",
    "_format",
    "_pretty",
];

pub fn parse(
    def: &'static ResourceDef,
    pairs: &[(String, String)],
    strict: bool,
) -> Result<ParsedSearch, ApiError> {
    let mut out = ParsedSearch {
        clauses: Vec::new(),
        count: DEFAULT_COUNT,
        cursor: None,
        summary: None,
        elements: None,
        total: Total::Accurate,
        applied: Vec::new(),
    };
    for (key, value) in pairs {
        let key = key.as_str();
        if RESULT_PARAMS.contains(&key) {
            parse_result_param(&mut out, key, value)?;
            if !matches!(key, "_cursor" | "_page" | "_format" | "_pretty") {
                out.applied.push((key.to_string(), value.clone()));
            }
            continue;
        }
        let (name, modifier) = match key.split_once(':') {
            Some((n, m)) => (n, Some(m)),
            None => (key, None),
        };
        let Some(param) = def.search_param(name) else {
            if strict {
                return Err(ApiError::BadRequest {
                    code: "not-supported",
                    message: format!(
                        "'{key}' is not a search parameter of {} on this server",
                        def.type_name
                    ),
                    expression: None,
                });
            }
            continue;
        };
        let modifier = modifier.map(|m| parse_modifier(param, m)).transpose()?;
        let values = split_unescaped(value, ',');
        if values.iter().any(String::is_empty) {
            return Err(ApiError::bad_request(format!("'{key}' has an empty value")));
        }
        for v in &values {
            validate_value(param, modifier, v)?;
        }
        out.clauses.push(Clause {
            param,
            modifier,
            values,
        });
        out.applied.push((key.to_string(), value.clone()));
    }
    Ok(out)
}

fn parse_result_param(out: &mut ParsedSearch, key: &str, value: &str) -> Result<(), ApiError> {
    match key {
        "_count" => {
            let n: usize = value
                .parse()
                .map_err(|_| ApiError::bad_request(format!("_count '{value}' is not a number")))?;
            out.count = n.min(MAX_COUNT);
        }
        "_cursor" => {
            out.cursor = Some(
                value
                    .parse()
                    .map_err(|_| ApiError::bad_request("_cursor is not a valid paging position"))?,
            )
        }
        "_summary" => {
            out.summary = Some(match value {
                "count" => Summary::Count,
                "data" => Summary::Data,
                "text" => Summary::Text,
                "false" => Summary::False,
                other => {
                    return Err(ApiError::BadRequest {
                        code: "not-supported",
                        message: format!(
                            "_summary={other} is not supported (count, data, text, false are)"
                        ),
                        expression: None,
                    })
                }
            })
        }
        "_elements" => {
            out.elements = Some(
                value
                    .split(',')
                    .map(|e| e.trim().to_string())
                    .filter(|e| !e.is_empty())
                    .collect(),
            )
        }
        "_total" => {
            out.total = match value {
                "none" => Total::None,
                "accurate" | "estimate" => Total::Accurate,
                other => {
                    return Err(ApiError::bad_request(format!(
                        "_total '{other}' is not none, estimate or accurate"
                    )))
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn parse_modifier(param: &SearchParamDef, m: &str) -> Result<Modifier, ApiError> {
    let modifier = match m {
        "exact" => Modifier::Exact,
        "contains" => Modifier::Contains,
        "missing" => Modifier::Missing,
        "not" => Modifier::Not,
        _ => {
            return Err(ApiError::BadRequest {
                code: "not-supported",
                message: format!("the modifier ':{m}' is not supported on '{}'", param.name),
                expression: None,
            })
        }
    };
    let fits = match modifier {
        Modifier::Exact | Modifier::Contains => param.kind == ParamKind::String,
        Modifier::Not => param.kind == ParamKind::Token,
        Modifier::Missing => !param.name.starts_with('_'),
    };
    if !fits {
        return Err(ApiError::BadRequest {
            code: "not-supported",
            message: format!(
                "the modifier ':{m}' does not apply to the {} parameter '{}'",
                param.kind.code(),
                param.name
            ),
            expression: None,
        });
    }
    Ok(modifier)
}

fn validate_value(
    param: &SearchParamDef,
    modifier: Option<Modifier>,
    v: &str,
) -> Result<(), ApiError> {
    if modifier == Some(Modifier::Missing) {
        if v != "true" && v != "false" {
            return Err(ApiError::bad_request(format!(
                "':missing' takes true or false, not '{v}'"
            )));
        }
        return Ok(());
    }
    let number_ok = |q: &str| {
        let number = q.split('|').next().unwrap_or_default();
        split_prefix(number)
            .1
            .parse::<f64>()
            .is_ok_and(f64::is_finite)
    };
    let quantity_part = match param.kind {
        ParamKind::Quantity => Some(v),
        ParamKind::TokenQuantity => Some(v.split_once('$').map(|(_, q)| q).ok_or_else(|| {
            ApiError::bad_request(format!(
                "'{}' takes code$quantity, e.g. http://loinc.org|8480-6$gt100",
                param.name
            ))
        })?),
        _ => None,
    };
    if let Some(q) = quantity_part {
        if !number_ok(q) {
            return Err(ApiError::bad_request(format!(
                "'{v}' is not a quantity for '{}' (use e.g. gt5.4|http://unitsofmeasure.org|mg)",
                param.name
            )));
        }
    }
    if param.kind == ParamKind::Date {
        let (_, date) = split_prefix(v);
        if helsebro_mappings::dates::parse_range(date).is_none() {
            return Err(ApiError::bad_request(format!(
                "'{v}' is not a valid date for '{}' (use e.g. 1974-12-25 or ge2020-01)",
                param.name
            )));
        }
    }
    Ok(())
}

/// Splits a date value into its comparison prefix (default `eq`) and the date.
pub fn split_prefix(v: &str) -> (&str, &str) {
    const PREFIXES: &[&str] = &["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"];
    match v.get(..2) {
        Some(p) if PREFIXES.contains(&p) => (p, &v[2..]),
        _ => ("eq", v),
    }
}

/// Splits on `sep` where it is not escaped with a backslash. Only the separator's escape is
/// removed; the others stay for the next split (`\\|` inside a token).
pub fn split_unescaped(v: &str, sep: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        let last = parts.last_mut().expect("never empty");
        if c == '\\' {
            match chars.next() {
                Some(n) if n == sep => last.push(n),
                Some(n) => {
                    last.push('\\');
                    last.push(n);
                }
                None => last.push('\\'),
            }
        } else if c == sep {
            parts.push(String::new());
        } else {
            last.push(c);
        }
    }
    parts
}

/// Removes the remaining search escapes (`\\,` `\\|` `\\$` `\\\\`).
pub fn unescape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n @ (',' | '|' | '$' | '\\')) => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Splits a token value at its first unescaped `|` into `(system, code)`.
pub fn split_token(v: &str) -> (Option<String>, String) {
    let mut escaped = false;
    for (i, c) in v.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '|' if !escaped => return (Some(unescape(&v[..i])), unescape(&v[i + 1..])),
            _ => escaped = false,
        }
    }
    (None, unescape(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_commas_stay_in_the_value() {
        assert_eq!(split_unescaped(r"a\,b,c", ','), vec!["a,b", "c"]);
        assert_eq!(split_unescaped(r"a\|b,c", ','), vec![r"a\|b", "c"]);
        assert_eq!(split_token(r"a\|b|c"), (Some("a|b".into()), "c".into()));
        assert_eq!(split_unescaped("a", ','), vec!["a"]);
    }

    #[test]
    fn tokens_split_at_the_first_bar() {
        assert_eq!(split_token("urn:x|1"), (Some("urn:x".into()), "1".into()));
        assert_eq!(split_token("|1"), (Some(String::new()), "1".into()));
        assert_eq!(split_token("urn:x|"), (Some("urn:x".into()), String::new()));
        assert_eq!(split_token("1"), (None, "1".into()));
    }

    #[test]
    fn prefixes_are_recognised() {
        assert_eq!(split_prefix("ge2020"), ("ge", "2020"));
        assert_eq!(split_prefix("2020"), ("eq", "2020"));
    }
}
