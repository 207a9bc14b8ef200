//! One module per FHIR interaction.

pub mod audit_event;
pub mod capabilities;
pub mod create;
pub mod delete;
pub mod erase;
pub mod everything;
pub mod export;
pub mod group;
pub mod history;
pub mod read;
pub mod search;
pub mod transaction;
pub mod update;
pub mod validate;
pub mod vread;

use axum::http::{header, StatusCode};

use super::error::ApiError;
use super::format::FhirResponse;
use super::Ctx;

pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

pub fn http_date(micros: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_micros(micros.max(0) as u64);
    httpdate::fmt_http_date(t)
}

/// A response carrying one resource version with its versioning headers.
pub fn resource_response(
    status: StatusCode,
    version: i64,
    last_updated: i64,
    json: String,
) -> FhirResponse {
    FhirResponse::new(status, Some(json))
        .header(header::ETAG, etag(version))
        .header(header::LAST_MODIFIED, http_date(last_updated))
}

/// Applies `Prefer: return=…` to a write's response.
pub fn with_prefer_return(ctx: &Ctx, mut response: FhirResponse, what: &str) -> FhirResponse {
    match ctx.prefer("return").as_deref() {
        Some("minimal") => response.body = None,
        Some("OperationOutcome") => response.body = Some(
            serde_json::json!({
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "information", "code": "informational", "diagnostics": what}]
            })
            .to_string(),
        ),
        _ => {}
    }
    response
}

/// A write's answer under `Prefer: return`; `otherwise` says what it did when it did not
/// create.
pub fn write_answer(
    ctx: &Ctx,
    response: FhirResponse,
    created: bool,
    otherwise: &str,
) -> FhirResponse {
    with_prefer_return(ctx, response, if created { "created" } else { otherwise })
}

/// Parses `If-Match: W/"3"` (or `"3"`) into the version number.
pub fn if_match(ctx: &Ctx) -> Result<Option<i64>, ApiError> {
    ctx.header(header::IF_MATCH).map(parse_if_match).transpose()
}

/// The version of an ETag sent as `If-Match` (the header, or a Bundle entry's `ifMatch`).
pub fn parse_if_match(raw: &str) -> Result<i64, ApiError> {
    let v = raw.trim().trim_start_matches("W/").trim_matches('"');
    v.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "If-Match '{raw}' is not a version ETag such as W/\"1\""
        ))
    })
}

/// The resource type and id in a body must agree with the URL.
pub fn check_body_type(body: &serde_json::Value, expected: &str) -> Result<(), ApiError> {
    match body.get("resourceType").and_then(|v| v.as_str()) {
        Some(t) if t == expected => Ok(()),
        Some(t) => Err(ApiError::BadRequest {
            code: "invalid",
            message: format!("the body is a {t}, but the URL names {expected}"),
            expression: Some("resourceType".into()),
        }),
        None => Err(ApiError::BadRequest {
            code: "required",
            message: "the body has no resourceType".into(),
            expression: Some("resourceType".into()),
        }),
    }
}
