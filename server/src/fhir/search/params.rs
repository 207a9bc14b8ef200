//! Parsing of FHIR search parameters into clauses the compiler turns into SQL.

use helsebro_conformance::registry::{self, ResourceDef};
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
    /// Token: the text or display of the CodeableConcept or Coding.
    Text,
    /// Identifier token: `type-system|type-code|value`.
    OfType,
    /// Reference: the logical `Reference.identifier`.
    Identifier,
    /// Uri: this URL or one of its parents.
    Above,
    /// Uri: this URL or one below it.
    Below,
    /// Reference: the target's type (`subject:Patient=123`).
    Type(&'static str),
}

#[derive(Debug, Clone)]
pub struct Clause {
    pub param: &'static SearchParamDef,
    pub modifier: Option<Modifier>,
    /// Alternatives (comma-separated in the request): any may match.
    pub values: Vec<String>,
    /// A chain, reverse chain or a choice of clauses, matched instead of `values`.
    pub nested: Option<Nested>,
}

/// Clauses over other resources. Each inner list is ANDed, like the top level.
#[derive(Debug, Clone)]
pub enum Nested {
    /// `param.rest`: the reference's target, of one of these types, matches the clauses.
    Chain(Vec<(&'static ResourceDef, Vec<Clause>)>),
    /// `_has:Type:param:rest`: a `Type` resource matching the clauses refers to this one
    /// through `param` (the clause's own `param`, a parameter of `Type`).
    Has {
        source: &'static ResourceDef,
        inner: Vec<Clause>,
    },
    /// Any of these clauses (a compartment: the subject or the performer).
    AnyOf(Vec<Clause>),
}

impl Clause {
    /// A clause of plain values, as the registry's parameter takes them.
    pub fn plain(param: &'static SearchParamDef, values: Vec<String>) -> Clause {
        Clause {
            param,
            modifier: None,
            values,
            nested: None,
        }
    }

    /// Any of `choices` (a compartment's parameters, a reverse include's): the one clause
    /// itself when there is one, `None` when there is none.
    pub fn any_of(mut choices: Vec<Clause>) -> Option<Clause> {
        match choices.len() {
            0 | 1 => choices.pop(),
            _ => Some(Clause {
                param: choices[0].param,
                modifier: None,
                values: Vec::new(),
                nested: Some(Nested::AnyOf(choices)),
            }),
        }
    }

    /// The resource types this clause reads besides the searched one, for authorization.
    pub fn nested_types(&self) -> Vec<&'static ResourceDef> {
        let mut out = Vec::new();
        match &self.nested {
            Some(Nested::Chain(targets)) => {
                for (def, inner) in targets {
                    out.push(*def);
                    out.extend(inner.iter().flat_map(Clause::nested_types));
                }
            }
            Some(Nested::Has { source, inner }) => {
                out.push(*source);
                out.extend(inner.iter().flat_map(Clause::nested_types));
            }
            Some(Nested::AnyOf(clauses)) => {
                out.extend(clauses.iter().flat_map(Clause::nested_types))
            }
            None => {}
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Summary {
    True,
    Count,
    Data,
    Text,
    False,
}

/// `_contained`: what a search looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contained {
    /// `false`, the default: stored resources only.
    No,
    /// `true`: the resources contained in stored ones.
    Only,
    /// `both`: stored and contained resources.
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    /// Not asked: given only where it costs nothing (a first page that holds every match).
    Unasked,
    None,
    Estimate,
    Accurate,
}

/// A `_sort` key: a parameter of the searched type, ascending unless `descending`.
#[derive(Debug, Clone, Copy)]
pub struct SortKey {
    pub param: &'static SearchParamDef,
    pub descending: bool,
}

/// `_include` (forward, the references of `source` through `param`) or `_revinclude`
/// (the `source` resources whose `param` refers to a result).
#[derive(Debug, Clone)]
pub struct Include {
    pub reverse: bool,
    pub iterate: bool,
    pub source: &'static ResourceDef,
    /// `None`: every reference parameter (`Type:*`).
    pub param: Option<&'static SearchParamDef>,
    /// Only targets of this type (`Observation:subject:Patient`).
    pub target: Option<&'static str>,
}

#[derive(Debug, Clone)]
pub struct ParsedSearch {
    pub clauses: Vec<Clause>,
    pub count: usize,
    pub cursor: Option<i64>,
    /// Position in a sorted result (`_sort` pages by offset: its keys may be personal
    /// data, which a keyset cursor would put in the URL).
    pub offset: Option<usize>,
    pub sort: Vec<SortKey>,
    pub summary: Option<Summary>,
    pub elements: Option<Vec<String>>,
    pub total: Total,
    pub includes: Vec<Include>,
    /// `_include=*`: every reference of every result.
    pub include_all: bool,
    pub contained: Contained,
    /// `_containedType=container`: a contained match returns its container.
    pub return_containers: bool,
    /// The parameters that took effect, for the `self` and paging links.
    pub applied: Vec<(String, String)>,
}

impl ParsedSearch {
    pub fn new(clauses: Vec<Clause>) -> ParsedSearch {
        ParsedSearch {
            clauses,
            count: DEFAULT_COUNT,
            cursor: None,
            offset: None,
            sort: Vec::new(),
            summary: None,
            elements: None,
            total: Total::Unasked,
            includes: Vec::new(),
            include_all: false,
            contained: Contained::No,
            return_containers: false,
            applied: Vec::new(),
        }
    }
}

/// Parameters that shape the result instead of filtering it, or that the server ignores
/// by design (`_format` is negotiation, `_pretty` a display hint).
const RESULT_PARAMS: &[&str] = &[
    "_count",
    "_cursor",
    "_offset",
    "_page",
    "_sort",
    "_summary",
    "_elements",
    "_total",
    "_contained",
    "_containedType",
    "_format",
    "_pretty",
];

/// How deep chains and reverse chains may nest (`patient.general-practitioner.name` is 2).
const MAX_DEPTH: usize = 3;

pub fn parse(
    def: &'static ResourceDef,
    pairs: &[(String, String)],
    strict: bool,
) -> Result<ParsedSearch, ApiError> {
    let mut out = ParsedSearch::new(Vec::new());
    for (key, value) in pairs {
        let key = key.as_str();
        if RESULT_PARAMS.contains(&key) {
            parse_result_param(def, &mut out, key, value)?;
            if !matches!(key, "_cursor" | "_offset" | "_page" | "_format" | "_pretty") {
                out.applied.push((key.to_string(), value.clone()));
            }
            continue;
        }
        if let Some(kind) = key.strip_prefix("_include").or_else(|| {
            key.strip_prefix("_revinclude")
                .map(|rest| if rest.is_empty() { "rev" } else { rest })
        }) {
            let reverse = key.starts_with("_revinclude");
            let iterate = match kind {
                "" | "rev" => false,
                ":iterate" | ":recurse" => true,
                _ => return Err(not_supported(format!("'{key}' is not a form of _include"))),
            };
            parse_include(def, &mut out, value, reverse, iterate)?;
            out.applied.push((key.to_string(), value.clone()));
            continue;
        }
        if let Some(clause) = parse_clause(def, key, value, strict, 0)? {
            out.clauses.push(clause);
            out.applied.push((key.to_string(), value.clone()));
        }
    }
    Ok(out)
}

fn not_supported(message: String) -> ApiError {
    ApiError::BadRequest {
        code: "not-supported",
        message,
        expression: None,
    }
}

/// One filter `key=value` on `def`; `None` when the parameter is unknown and ignored.
fn parse_clause(
    def: &'static ResourceDef,
    key: &str,
    value: &str,
    strict: bool,
    depth: usize,
) -> Result<Option<Clause>, ApiError> {
    if depth > MAX_DEPTH {
        return Err(not_supported(format!(
            "'{key}' nests chains deeper than {MAX_DEPTH} levels"
        )));
    }
    if let Some(rest) = key.strip_prefix("_has:") {
        return parse_has(def, key, rest, value, strict, depth).map(Some);
    }
    let (head, chain) = match key.split_once('.') {
        Some((h, rest)) => (h, Some(rest)),
        None => (key, None),
    };
    let (name, modifier) = match head.split_once(':') {
        Some((n, m)) => (n, Some(m)),
        None => (head, None),
    };
    let Some(param) = def.search_param(name) else {
        if strict || chain.is_some() {
            return Err(not_supported(format!(
                "'{name}' is not a search parameter of {} on this server",
                def.type_name
            )));
        }
        return Ok(None);
    };
    let modifier = modifier.map(|m| parse_modifier(param, m)).transpose()?;
    if let Some(rest) = chain {
        return parse_chain(def, param, modifier, rest, value, depth).map(Some);
    }
    let values = split_unescaped(value, ',');
    if values.iter().any(String::is_empty) {
        return Err(ApiError::bad_request(format!("'{key}' has an empty value")));
    }
    for v in &values {
        validate_value(param, modifier, v)?;
    }
    Ok(Some(Clause {
        param,
        modifier,
        values,
        nested: None,
    }))
}

/// `subject:Patient.name=x`, `patient.general-practitioner.name=x`: the reference's
/// targets of each possible type that has the chained parameter.
fn parse_chain(
    def: &'static ResourceDef,
    param: &'static SearchParamDef,
    modifier: Option<Modifier>,
    rest: &str,
    value: &str,
    depth: usize,
) -> Result<Clause, ApiError> {
    if param.kind != ParamKind::Reference {
        return Err(not_supported(format!(
            "'{}' is a {} parameter of {}: only references can be chained",
            param.name,
            param.kind.code(),
            def.type_name
        )));
    }
    let types: Vec<&'static ResourceDef> = match modifier {
        Some(Modifier::Type(t)) => registry::find(t).into_iter().collect(),
        None => registry::SERVED
            .iter()
            .filter(|d| param.targets.is_empty() || param.targets.contains(&d.type_name))
            .collect(),
        Some(_) => {
            return Err(not_supported(format!(
                "a chain on '{}' takes only a type modifier",
                param.name
            )))
        }
    };
    let chained = rest
        .split(['.', ':'])
        .next()
        .unwrap_or_default()
        .to_string();
    let mut targets = Vec::new();
    for target in types {
        let known = chained.starts_with("_has") || target.search_param(&chained).is_some();
        if !known {
            continue;
        }
        if let Some(clause) = parse_clause(target, rest, value, true, depth + 1)? {
            targets.push((target, vec![clause]));
        }
    }
    if targets.is_empty() {
        return Err(not_supported(format!(
            "no resource type '{}' of {} refers to has the parameter '{chained}'",
            param.name, def.type_name
        )));
    }
    Ok(Clause {
        param,
        modifier: None,
        values: Vec::new(),
        nested: Some(Nested::Chain(targets)),
    })
}

/// `_has:Observation:patient:code=x` on Patient; the rest may be another `_has`.
fn parse_has(
    def: &'static ResourceDef,
    key: &str,
    rest: &str,
    value: &str,
    strict: bool,
    depth: usize,
) -> Result<Clause, ApiError> {
    let mut parts = rest.splitn(3, ':');
    let (Some(source), Some(via), Some(inner_key)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(ApiError::bad_request(format!(
            "'{key}' is not of the form _has:Type:reference-parameter:parameter"
        )));
    };
    let source = registry::find(source)
        .ok_or_else(|| not_supported(format!("'{key}': {source} is not served by this server")))?;
    let param = source
        .search_param(via)
        .filter(|p| p.kind == ParamKind::Reference)
        .filter(|p| p.targets.is_empty() || p.targets.contains(&def.type_name))
        .ok_or_else(|| {
            not_supported(format!(
                "'{key}': '{via}' is not a reference parameter of {} that can refer to {}",
                source.type_name, def.type_name
            ))
        })?;
    let inner = parse_clause(source, inner_key, value, strict, depth + 1)?.ok_or_else(|| {
        not_supported(format!(
            "'{key}': '{inner_key}' is not a search parameter of {}",
            source.type_name
        ))
    })?;
    Ok(Clause {
        param,
        modifier: None,
        values: Vec::new(),
        nested: Some(Nested::Has {
            source,
            inner: vec![inner],
        }),
    })
}

/// `Type:param`, `Type:param:TargetType`, `Type:*` or `*`.
fn parse_include(
    def: &'static ResourceDef,
    out: &mut ParsedSearch,
    value: &str,
    reverse: bool,
    iterate: bool,
) -> Result<(), ApiError> {
    let what = if reverse { "_revinclude" } else { "_include" };
    if value == "*" {
        if reverse {
            return Err(not_supported("_revinclude=* is not supported".into()));
        }
        out.include_all = true;
        return Ok(());
    }
    let mut parts = value.splitn(3, ':');
    let (Some(source), Some(name)) = (parts.next(), parts.next()) else {
        return Err(ApiError::bad_request(format!(
            "{what}='{value}' is not of the form Type:parameter[:TargetType]"
        )));
    };
    let source = registry::find(source)
        .ok_or_else(|| not_supported(format!("{what}: {source} is not served by this server")))?;
    if !reverse && !iterate && source.type_name != def.type_name {
        return Err(ApiError::bad_request(format!(
            "_include={value} names {}, not the searched type {} (use _include:iterate)",
            source.type_name, def.type_name
        )));
    }
    let param = match name {
        "*" => None,
        n => Some(
            source
                .search_param(n)
                .filter(|p| p.kind == ParamKind::Reference)
                .ok_or_else(|| {
                    not_supported(format!(
                        "{what}: '{n}' is not a reference parameter of {}",
                        source.type_name
                    ))
                })?,
        ),
    };
    let target = match parts.next() {
        Some(t) => Some(
            registry::find(t)
                .map(|d| d.type_name)
                .ok_or_else(|| not_supported(format!("{what}: {t} is not served")))?,
        ),
        None => None,
    };
    out.includes.push(Include {
        reverse,
        iterate,
        source,
        param,
        target,
    });
    Ok(())
}

fn parse_result_param(
    def: &'static ResourceDef,
    out: &mut ParsedSearch,
    key: &str,
    value: &str,
) -> Result<(), ApiError> {
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
        "_offset" => {
            out.offset = Some(
                value
                    .parse()
                    .map_err(|_| ApiError::bad_request("_offset is not a valid paging position"))?,
            )
        }
        "_sort" => {
            for key in value.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                let (name, descending) = match key.strip_prefix('-') {
                    Some(n) => (n, true),
                    None => (key, false),
                };
                let param = def
                    .search_param(name)
                    .filter(|p| p.kind != ParamKind::TokenQuantity)
                    .ok_or_else(|| {
                        not_supported(format!(
                            "_sort: '{name}' is not a sortable search parameter of {}",
                            def.type_name
                        ))
                    })?;
                out.sort.push(SortKey { param, descending });
            }
        }
        "_summary" => {
            out.summary = Some(match value {
                "true" => Summary::True,
                "count" => Summary::Count,
                "data" => Summary::Data,
                "text" => Summary::Text,
                "false" => Summary::False,
                other => {
                    return Err(not_supported(format!(
                        "_summary={other} is not one of true, count, data, text, false"
                    )))
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
                "estimate" => Total::Estimate,
                "accurate" => Total::Accurate,
                other => {
                    return Err(ApiError::bad_request(format!(
                        "_total '{other}' is not none, estimate or accurate"
                    )))
                }
            }
        }
        "_contained" => {
            out.contained = match value {
                "false" => Contained::No,
                "true" => Contained::Only,
                "both" => Contained::Both,
                other => {
                    return Err(ApiError::bad_request(format!(
                        "_contained '{other}' is not false, true or both"
                    )))
                }
            }
        }
        "_containedType" => {
            out.return_containers = match value {
                "container" => true,
                "contained" => false,
                other => {
                    return Err(ApiError::bad_request(format!(
                        "_containedType '{other}' is not container or contained"
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
        "text" => Modifier::Text,
        "of-type" => Modifier::OfType,
        "identifier" => Modifier::Identifier,
        "above" => Modifier::Above,
        "below" => Modifier::Below,
        t if param.kind == ParamKind::Reference => {
            let target = registry::find(t).map(|d| d.type_name).ok_or_else(|| {
                not_supported(format!(
                    "':{t}' on '{}' is neither a modifier nor a type served here",
                    param.name
                ))
            })?;
            if !param.targets.is_empty() && !param.targets.contains(&target) {
                return Err(ApiError::bad_request(format!(
                    "'{}' cannot refer to {target}",
                    param.name
                )));
            }
            Modifier::Type(target)
        }
        _ => {
            return Err(not_supported(format!(
                "the modifier ':{m}' is not supported on '{}'",
                param.name
            )))
        }
    };
    let fits = match modifier {
        Modifier::Exact | Modifier::Contains => param.kind == ParamKind::String,
        Modifier::Not | Modifier::Text => param.kind == ParamKind::Token,
        Modifier::OfType => param.kind == ParamKind::Token && param.name == "identifier",
        Modifier::Identifier | Modifier::Type(_) => param.kind == ParamKind::Reference,
        Modifier::Above | Modifier::Below => param.kind == ParamKind::Uri,
        Modifier::Missing => !param.name.starts_with('_') || !param.paths.is_empty(),
    };
    if !fits {
        return Err(not_supported(format!(
            "the modifier ':{m}' does not apply to the {} parameter '{}'",
            param.kind.code(),
            param.name
        )));
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
    if modifier == Some(Modifier::OfType) && split_unescaped(v, '|').len() != 3 {
        return Err(ApiError::bad_request(format!(
            "'{}:of-type' takes type-system|type-code|value, not '{v}'",
            param.name
        )));
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
