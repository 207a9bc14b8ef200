//! A batch or transaction Bundle read into its entries' requests, each checked as far as
//! it can be without the store: method, URL, resource and the conditional elements.

use serde_json::{Map, Value};

use crate::fhir::check_id;
use crate::fhir::error::ApiError;
use crate::fhir::interactions::parse_if_match;
use crate::fhir::served_type;
use crate::served::ServedType;

/// Entries one Bundle may carry: a client with more splits them, and one request never
/// holds the write lock (SQLite) or a transaction (PostgreSQL) for long.
pub const MAX_ENTRIES: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Batch,
    Transaction,
}

impl Kind {
    pub fn code(self) -> &'static str {
        match self {
            Kind::Batch => "batch",
            Kind::Transaction => "transaction",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
    Put,
    Delete,
}

impl Verb {
    pub fn name(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Delete => "DELETE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `[type]`: a search without criteria (GET) or a create (POST).
    Type,
    /// `[type]/[id]`
    Instance(String),
    /// `[type]/[id]/_history/[vid]`
    Version(String, String),
    /// `[type]?[query]`: a search (GET), a conditional update (PUT) or delete (DELETE).
    Query(String),
}

/// One entry's request.
#[derive(Debug)]
pub struct Request {
    pub index: usize,
    pub verb: Verb,
    pub served: ServedType,
    pub target: Target,
    pub full_url: Option<String>,
    pub resource: Option<Value>,
    pub if_match: Option<i64>,
    pub if_none_exist: Option<String>,
    pub if_none_match: Option<String>,
}

pub struct Parsed {
    pub kind: Kind,
    /// In Bundle order; an entry that cannot be read is its error.
    pub entries: Vec<Result<Request, ApiError>>,
}

const ENTRY_ELEMENTS: &[&str] = &[
    "id",
    "extension",
    "modifierExtension",
    "link",
    "fullUrl",
    "resource",
    "search",
    "request",
    "response",
];
const REQUEST_ELEMENTS: &[&str] = &[
    "id",
    "extension",
    "modifierExtension",
    "method",
    "url",
    "ifNoneMatch",
    "ifModifiedSince",
    "ifMatch",
    "ifNoneExist",
];

/// Reads a Bundle POSTed to the base. Anything but a batch or transaction of at most
/// [`MAX_ENTRIES`] entries is refused whole.
pub fn parse_bundle(bundle: Value, base: &str) -> Result<Parsed, ApiError> {
    let Value::Object(mut bundle) = bundle else {
        return Err(ApiError::bad_request("the body is not a resource"));
    };
    match bundle.get("resourceType").and_then(Value::as_str) {
        Some("Bundle") => {}
        other => {
            return Err(ApiError::BadRequest {
                code: "invalid",
                message: format!(
                    "POST to the base takes a Bundle of type batch or transaction, not {}",
                    other.unwrap_or("a body without resourceType")
                ),
                expression: Some("resourceType".into()),
            })
        }
    }
    let kind = match bundle.get("type").and_then(Value::as_str) {
        Some("batch") => Kind::Batch,
        Some("transaction") => Kind::Transaction,
        other => {
            return Err(ApiError::BadRequest {
                code: "invalid",
                message: format!(
                    "Bundle.type is {}: the base processes only batch and transaction Bundles",
                    other.map_or("missing".to_string(), |t| format!("'{t}'"))
                ),
                expression: Some("Bundle.type".into()),
            })
        }
    };
    let entries = match bundle.remove("entry") {
        None => Vec::new(),
        Some(Value::Array(entries)) => entries,
        Some(_) => {
            return Err(ApiError::BadRequest {
                code: "structure",
                message: "Bundle.entry must be an array".into(),
                expression: Some("Bundle.entry".into()),
            })
        }
    };
    if entries.len() > MAX_ENTRIES {
        return Err(ApiError::TooManyEntries {
            count: entries.len(),
            max: MAX_ENTRIES,
        });
    }
    let entries = entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| parse_entry(index, entry, base))
        .collect();
    Ok(Parsed { kind, entries })
}

fn invalid(code: &'static str, message: String, expression: String) -> ApiError {
    ApiError::BadRequest {
        code,
        message,
        expression: Some(expression),
    }
}

/// Refuses elements a Bundle entry (or its request) does not have: a misspelt `ifMatch`
/// ignored would turn a guarded write into an unguarded one.
fn check_elements(object: &Map<String, Value>, known: &[&str], at: &str) -> Result<(), ApiError> {
    match object.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(invalid(
            "structure",
            format!("{at}.{k} is not an element of {at}"),
            format!("{at}.{k}"),
        )),
        None => Ok(()),
    }
}

fn text(object: &Map<String, Value>, key: &str, at: &str) -> Result<Option<String>, ApiError> {
    match object.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(
            "structure",
            format!("{at}.{key} must be a string"),
            format!("{at}.{key}"),
        )),
    }
}

fn parse_entry(index: usize, entry: Value, base: &str) -> Result<Request, ApiError> {
    let at = format!("Bundle.entry[{index}]");
    let Value::Object(mut entry) = entry else {
        return Err(invalid("structure", format!("{at} must be an object"), at));
    };
    check_elements(&entry, ENTRY_ELEMENTS, &at)?;
    let request_at = format!("{at}.request");
    let request = match entry.remove("request") {
        Some(Value::Object(r)) => r,
        Some(_) => {
            return Err(invalid(
                "structure",
                format!("{request_at} must be an object"),
                request_at,
            ))
        }
        None => {
            return Err(invalid(
                "required",
                format!("{request_at} is required in a batch or transaction"),
                request_at,
            ))
        }
    };
    check_elements(&request, REQUEST_ELEMENTS, &request_at)?;
    let method = text(&request, "method", &request_at)?.ok_or_else(|| {
        invalid(
            "required",
            format!("{request_at}.method is required"),
            format!("{request_at}.method"),
        )
    })?;
    let verb = match method.as_str() {
        "GET" => Verb::Get,
        "POST" => Verb::Post,
        "PUT" => Verb::Put,
        "DELETE" => Verb::Delete,
        "PATCH" | "HEAD" => {
            return Err(ApiError::MethodNotAllowed {
                message: format!(
                    "{method} is not served by this server; {}",
                    if method == "PATCH" {
                        "send the whole resource with PUT"
                    } else {
                        "use GET"
                    }
                ),
                allow: "GET, POST, PUT, DELETE",
            })
        }
        other => {
            return Err(invalid(
                "value",
                format!(
                    "{request_at}.method '{other}' is not GET, HEAD, POST, PUT, DELETE or PATCH"
                ),
                format!("{request_at}.method"),
            ))
        }
    };
    let url = text(&request, "url", &request_at)?.ok_or_else(|| {
        invalid(
            "required",
            format!("{request_at}.url is required"),
            format!("{request_at}.url"),
        )
    })?;
    let (served, target) = parse_url(&url, base, verb, &format!("{request_at}.url"))?;
    let resource = match entry.remove("resource") {
        Some(Value::Object(r)) => Some(Value::Object(r)),
        Some(_) => {
            return Err(invalid(
                "structure",
                format!("{at}.resource must be a resource"),
                format!("{at}.resource"),
            ))
        }
        None => None,
    };
    if matches!(verb, Verb::Post | Verb::Put) && resource.is_none() {
        return Err(invalid(
            "required",
            format!("a {method} entry needs the resource to write in {at}.resource"),
            format!("{at}.resource"),
        ));
    }
    // Which conditional elements apply to which methods; `ifModifiedSince` is not served.
    let applies: [(&str, &[Verb]); 4] = [
        ("ifMatch", &[Verb::Put, Verb::Delete]),
        ("ifNoneExist", &[Verb::Post]),
        ("ifNoneMatch", &[Verb::Get]),
        ("ifModifiedSince", &[]),
    ];
    for (element, verbs) in applies {
        if request.contains_key(element) && !verbs.contains(&verb) {
            let names: Vec<&str> = verbs.iter().map(|v| v.name()).collect();
            let message = match names.as_slice() {
                [] => format!("{request_at}.{element} is not supported by this server"),
                _ => format!(
                    "{request_at}.{element} applies to {} entries only",
                    names.join(" and ")
                ),
            };
            return Err(invalid(
                "not-supported",
                message,
                format!("{request_at}.{element}"),
            ));
        }
    }
    let if_match = text(&request, "ifMatch", &request_at)?
        .map(|raw| parse_if_match(&raw))
        .transpose()
        .map_err(|e| invalid("value", e.to_string(), format!("{request_at}.ifMatch")))?;
    let if_none_exist = text(&request, "ifNoneExist", &request_at)?;
    let if_none_match = text(&request, "ifNoneMatch", &request_at)?;
    Ok(Request {
        index,
        verb,
        served,
        target,
        full_url: text(&entry, "fullUrl", &at)?,
        resource,
        if_match,
        if_none_exist,
        if_none_match,
    })
}

/// The type and target of an entry's URL: relative (`Patient/1`), or absolute under this
/// server's base.
fn parse_url(
    url: &str,
    base: &str,
    verb: Verb,
    at: &str,
) -> Result<(ServedType, Target), ApiError> {
    let relative = if url.starts_with("http://") || url.starts_with("https://") {
        url.strip_prefix(base)
            .and_then(|rest| rest.strip_prefix('/'))
            .ok_or_else(|| {
                invalid(
                    "invalid",
                    format!(
                        "'{url}' is not on this server ({base}); entry URLs are relative, such \
                         as Patient/123"
                    ),
                    at.to_string(),
                )
            })?
    } else {
        url.trim_start_matches('/')
    };
    let (path, query) = match relative.split_once('?') {
        Some((p, q)) => (p, q),
        None => (relative, ""),
    };
    let unsupported = || {
        invalid(
            "not-supported",
            format!(
                "{} {url} is not an interaction this server serves in a Bundle entry \
                 (GET Type, Type?query, Type/id, Type/id/_history/vid; POST Type; PUT and \
                 DELETE Type/id or Type?query)",
                verb.name()
            ),
            at.to_string(),
        )
    };
    let segments: Vec<&str> = path.split('/').collect();
    let type_name = segments[0];
    if type_name.is_empty() || type_name.starts_with(['_', '$']) || type_name == "metadata" {
        return Err(unsupported());
    }
    let served = served_type(type_name)?;
    let target = match segments.as_slice() {
        [_] if query.is_empty() => Target::Type,
        [_] => Target::Query(query.to_string()),
        [_, id] => Target::Instance(id.to_string()),
        [_, id, "_history", vid] => Target::Version(id.to_string(), vid.to_string()),
        _ => return Err(unsupported()),
    };
    if let Target::Instance(id) | Target::Version(id, _) = &target {
        check_id(id).map_err(|e| invalid("value", e.to_string(), at.to_string()))?;
    }
    let fits = match verb {
        Verb::Get => true,
        Verb::Post => target == Target::Type,
        Verb::Put | Verb::Delete => matches!(target, Target::Instance(_) | Target::Query(_)),
    };
    if !fits {
        return Err(unsupported());
    }
    Ok((served, target))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BASE: &str = "http://h.example/fhir";

    fn one(entry: Value) -> Result<Request, ApiError> {
        let bundle = json!({"resourceType": "Bundle", "type": "batch", "entry": [entry]});
        parse_bundle(bundle, BASE)
            .expect("a batch")
            .entries
            .remove(0)
    }

    #[test]
    fn urls_give_their_targets() {
        let get = |url: &str| {
            one(json!({"request": {"method": "GET", "url": url}}))
                .expect("a request")
                .target
        };
        assert_eq!(get("Patient"), Target::Type);
        assert_eq!(get("Patient?name=x"), Target::Query("name=x".into()));
        assert_eq!(get("/Patient/1"), Target::Instance("1".into()));
        assert_eq!(
            get(&format!("{BASE}/Patient/1/_history/2")),
            Target::Version("1".into(), "2".into())
        );
    }

    #[test]
    fn wrong_shapes_are_refused_naming_the_element() {
        let post_with_id = one(json!({"request": {"method": "POST", "url": "Patient/1"},
            "resource": {"resourceType": "Patient"}}));
        assert!(matches!(
            post_with_id,
            Err(ApiError::BadRequest {
                code: "not-supported",
                ..
            })
        ));
        let typo = one(
            json!({"request": {"method": "PUT", "url": "Patient/1", "ifMach": "1"},
            "resource": {"resourceType": "Patient"}}),
        );
        match typo {
            Err(ApiError::BadRequest { expression, .. }) => {
                assert_eq!(
                    expression.as_deref(),
                    Some("Bundle.entry[0].request.ifMach")
                )
            }
            other => panic!("{other:?}"),
        }
        let patch = one(json!({"request": {"method": "PATCH", "url": "Patient/1"}}));
        assert!(matches!(patch, Err(ApiError::MethodNotAllowed { .. })));
        let elsewhere =
            one(json!({"request": {"method": "GET", "url": "http://x.example/Patient/1"}}));
        assert!(elsewhere.is_err());
    }

    #[test]
    fn only_batches_and_transactions_of_bounded_size() {
        let collection = json!({"resourceType": "Bundle", "type": "collection"});
        assert!(parse_bundle(collection, BASE).is_err());
        let entries: Vec<Value> = (0..=MAX_ENTRIES)
            .map(|_| json!({"request": {"method": "GET", "url": "Patient"}}))
            .collect();
        let big = json!({"resourceType": "Bundle", "type": "batch", "entry": entries});
        assert!(matches!(
            parse_bundle(big, BASE),
            Err(ApiError::TooManyEntries { .. })
        ));
    }
}
