//! Turning an `operation` into an HTTP request: the URL from `url`, `targetId` or
//! `resource` + `params`; the method from the operation type (or `method`); the body from
//! `sourceId`, written in the format `contentType` asks; `accept`, `requestHeader` and the
//! bearer token as headers.

use serde_json::Value;

use super::http::{Body, Request};
use super::script::Operation;
use super::state::State;
use super::variables::{substitute, substitute_json};

/// The short format codes scripts use (`json`, `xml`) as MIME types; others as written.
pub fn mime(format: &str) -> String {
    match format.trim() {
        "json" => "application/fhir+json".into(),
        "xml" => "application/fhir+xml".into(),
        "ttl" => "text/turtle".into(),
        other => other.to_string(),
    }
}

/// The type, id and version of the resource `target_id` names: the server's `Type/id` of
/// an autocreated fixture, else what its body says.
fn target(state: &State, target_id: &str) -> Result<(String, String, Option<String>), String> {
    if let Some(on_server) = state.server_ids.get(target_id) {
        if let Some((t, id)) = on_server.split_once('/') {
            return Ok((t.to_string(), id.to_string(), None));
        }
    }
    let body = state.body(Some(target_id))?;
    let json = body
        .json
        .as_ref()
        .ok_or_else(|| format!("target '{target_id}' is not a resource"))?;
    let rtype = json.get("resourceType").and_then(Value::as_str);
    let id = json.get("id").and_then(Value::as_str);
    match (rtype, id) {
        (Some(t), Some(id)) => Ok((
            t.to_string(),
            id.to_string(),
            json.pointer("/meta/versionId")
                .and_then(Value::as_str)
                .map(String::from),
        )),
        _ => Err(format!("target '{target_id}' has no resourceType and id")),
    }
}

/// The body `source_id` names, with variables substituted, as JSON.
fn source(state: &State, source_id: &str) -> Result<Value, String> {
    let body: &Body = state.body(Some(source_id))?;
    let json = body
        .json
        .as_ref()
        .ok_or_else(|| format!("source '{source_id}' is not a resource"))?;
    substitute_json(state, json)
}

/// The path (relative to the base) an operation calls, and its default method.
fn path_and_method(
    op: &Operation,
    state: &State,
    body: Option<&Value>,
) -> Result<(String, &'static str), String> {
    let code = op.code().unwrap_or("");
    let params = op
        .params
        .as_deref()
        .map(|p| substitute(state, p))
        .transpose()?;
    let params = params.as_deref();
    let target = op
        .target_id
        .as_deref()
        .map(|t| target(state, t))
        .transpose()?;
    let rtype = op
        .resource
        .clone()
        .or_else(|| target.as_ref().map(|t| t.0.clone()))
        .or_else(|| {
            body.and_then(|b| b.get("resourceType"))
                .and_then(Value::as_str)
                .map(String::from)
        });
    let need_type = || {
        rtype
            .clone()
            .ok_or_else(|| format!("operation '{code}' names no resource type"))
    };
    // Params after a path: `?query` or `/more`.
    let with_params = |path: String| match params {
        Some(p) => format!("{path}{p}"),
        None => path,
    };
    let instance = || target.as_ref().map(|(t, id, _)| format!("{t}/{id}"));
    Ok(match code {
        "read" => (
            instance().map_or_else(|| need_type().map(with_params), Ok)?,
            "GET",
        ),
        "vread" => match &target {
            Some((t, id, Some(v))) => (format!("{t}/{id}/_history/{v}"), "GET"),
            Some((_, _, None)) if params.is_none() => {
                return Err("vread target has no meta.versionId".into())
            }
            _ => (with_params(need_type()?), "GET"),
        },
        "create" => (with_params(need_type()?), "POST"),
        "update" | "updateCreate" => {
            let path = match (instance(), params) {
                (Some(p), _) => p,
                (None, Some(_)) => with_params(need_type()?),
                (None, None) => {
                    let id = body
                        .and_then(|b| b.get("id"))
                        .and_then(Value::as_str)
                        .ok_or("update names no id (targetId, params or the body's id)")?;
                    format!("{}/{id}", need_type()?)
                }
            };
            (path, "PUT")
        }
        "delete" => (
            instance().map_or_else(|| need_type().map(with_params), Ok)?,
            "DELETE",
        ),
        "deleteCondSingle" | "deleteCondMultiple" => (with_params(need_type()?), "DELETE"),
        "search" => {
            if op
                .method
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case("post"))
            {
                (format!("{}/_search", need_type()?), "POST")
            } else {
                (with_params(need_type()?), "GET")
            }
        }
        "history" => match (instance(), &rtype) {
            (Some(p), _) => (with_params(format!("{p}/_history")), "GET"),
            (None, Some(t)) if params.is_some() => (with_params(t.clone()), "GET"),
            (None, Some(t)) => (format!("{t}/_history"), "GET"),
            (None, None) => (with_params("_history".into()), "GET"),
        },
        "capabilities" => (with_params("metadata".into()), "GET"),
        "batch" | "transaction" => (with_params(String::new()), "POST"),
        "patch" => (
            instance().map_or_else(|| need_type().map(with_params), Ok)?,
            "PATCH",
        ),
        "" => return Err("operation without type or url".into()),
        other => {
            // `validate`, `everything`, `$meta`, … : an operation on the instance, the
            // type or the system, whichever the script names.
            let name = format!("${}", other.trim_start_matches('$'));
            let on = match (instance(), &op.resource) {
                (Some(p), _) => format!("{p}/{name}"),
                (None, Some(t)) => format!("{t}/{name}"),
                (None, None) => name,
            };
            let method = if body.is_some() { "POST" } else { "GET" };
            (with_params(on), method)
        }
    })
}

/// The request `op` makes in the current state.
pub fn build(op: &Operation, state: &State) -> Result<Request, String> {
    let mut json_body = op
        .source_id
        .as_deref()
        .map(|s| source(state, s))
        .transpose()?;
    let (url, default_method) = match &op.url {
        Some(url) => {
            let url = substitute(state, url)?;
            let method = match op.code() {
                Some("create" | "batch" | "transaction") => "POST",
                Some("update" | "updateCreate") => "PUT",
                Some("delete" | "deleteCondSingle" | "deleteCondMultiple") => "DELETE",
                Some("patch") => "PATCH",
                _ if json_body.is_some() => "POST",
                _ => "GET",
            };
            (state.url(&url), method)
        }
        None => {
            let (path, method) = path_and_method(op, state, json_body.as_ref())?;
            (state.url(&path), method)
        }
    };
    let url = if op.encode_request_url.unwrap_or(true) {
        encode_query(&url)
    } else {
        url
    };
    // A fixture's id is the script's, not the server's: like Touchstone, an update sends
    // the fixture with the id of the URL it is put to (Patient/pat1 put as Patient/example).
    if matches!(op.code(), Some("update" | "updateCreate")) {
        if let (Some(Value::Object(fields)), Some(id)) = (json_body.as_mut(), last_segment(&url)) {
            fields.insert("id".into(), Value::String(id));
        }
    }
    let method = op
        .method
        .as_deref()
        .map(str::to_ascii_uppercase)
        .unwrap_or_else(|| default_method.to_string());

    let accept = mime(op.accept.as_deref().unwrap_or("json"));
    let mut content_type = mime(op.content_type.as_deref().unwrap_or("json"));
    let body = match &json_body {
        None => None,
        Some(json) if content_type.contains("xml") => Some(
            helsebro_profiles::format::json_to_xml(&json.to_string())
                .map_err(|e| format!("the body cannot be sent as XML: {e}"))?,
        ),
        Some(json) => {
            // A JSON Patch document is an array, not a resource.
            if json.is_array() && op.content_type.is_none() {
                content_type = "application/json-patch+json".into();
            }
            Some(json.to_string())
        }
    };
    // A search by POST sends its parameters as a form.
    let (body, content_type) = match (&body, op.code(), op.url.is_none()) {
        (None, Some("search"), true) if method == "POST" => {
            let params = substitute(state, op.params.as_deref().unwrap_or(""))?;
            let params = params.trim_start_matches('?');
            let params = if op.encode_request_url.unwrap_or(true) {
                encode_query_text(params)
            } else {
                params.to_string()
            };
            (
                Some(params),
                "application/x-www-form-urlencoded".to_string(),
            )
        }
        _ => (body, content_type),
    };
    let mut headers = vec![("Accept".to_string(), accept)];
    if body.is_some() {
        headers.push(("Content-Type".into(), content_type));
    }
    if let Some(token) = &state.token {
        headers.push(("Authorization".into(), format!("Bearer {token}")));
    }
    for h in &op.request_header {
        let value = substitute(state, &h.value)?;
        headers.retain(|(k, _)| !k.eq_ignore_ascii_case(&h.field));
        headers.push((h.field.clone(), value));
    }
    Ok(Request {
        method,
        url,
        headers,
        body,
    })
}

/// The URL with its query percent-encoded where a server would misread it: `+` (a space
/// in query strings), spaces, `#`, quotes and angle brackets, and a `%` that starts no
/// escape. Separators (`&`, `=`, `|`, `,`, `:`, `$`) and existing escapes stay as written.
fn encode_query(url: &str) -> String {
    match url.split_once('?') {
        Some((path, query)) => format!("{path}?{}", encode_query_text(query)),
        None => url.to_string(),
    }
}

fn encode_query_text(query: &str) -> String {
    let bytes = query.as_bytes();
    let mut out = String::with_capacity(query.len());
    for (i, c) in query.char_indices() {
        let is_escape = c == '%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        match c {
            '%' if is_escape => out.push('%'),
            '+' | ' ' | '#' | '"' | '<' | '>' | '%' | '`' | '{' | '}' | '^' | '\\' => {
                out.push_str(&format!("%{:02X}", c as u32));
            }
            _ => out.push(c),
        }
    }
    out
}

/// `…/Patient/example?x=1` → `example`.
fn last_segment(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next()?.trim_end_matches('/');
    let (_, last) = path.rsplit_once('/')?;
    (!last.is_empty()).then(|| last.to_string())
}

#[cfg(test)]
mod encoding_tests {
    use super::encode_query;

    #[test]
    fn the_query_is_encoded_where_a_server_would_misread_it() {
        assert_eq!(
            encode_query("http://h/fhir/Observation?date=ge2026-01-01T00:00:00+01:00&code=a|b c"),
            "http://h/fhir/Observation?date=ge2026-01-01T00:00:00%2B01:00&code=a|b%20c"
        );
        // Existing escapes stay; a lone % is escaped; the path is left alone.
        assert_eq!(
            encode_query("http://h/a+b?x=%2B1&y=100%"),
            "http://h/a+b?x=%2B1&y=100%25"
        );
        assert_eq!(encode_query("http://h/Patient/1"), "http://h/Patient/1");
    }
}
