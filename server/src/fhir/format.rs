//! Content negotiation and body parsing: JSON is stored and served natively, XML is
//! converted at the edge through fhirbolt.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/fhir+json; charset=utf-8",
            Format::Xml => "application/fhir+xml; charset=utf-8",
        }
    }
}

fn format_of_mime(mime: &str) -> Option<Format> {
    match mime.trim().to_ascii_lowercase().as_str() {
        "json"
        | "application/fhir+json"
        | "application/json"
        | "application/json+fhir"
        | "text/json" => Some(Format::Json),
        "xml"
        | "application/fhir+xml"
        | "application/xml"
        | "application/xml+fhir"
        | "text/xml" => Some(Format::Xml),
        _ => None,
    }
}

/// Only R4 (4.0) is served; a request for another FHIR version is refused, not ignored.
fn check_fhir_version(params: &str) -> bool {
    params.split(';').all(|p| match p.trim().split_once('=') {
        Some((k, v)) if k.trim().eq_ignore_ascii_case("fhirVersion") => {
            v.trim().trim_matches('"').starts_with("4.0")
        }
        _ => true,
    })
}

/// The response format: `_format` wins over `Accept`; no preference means JSON.
pub fn response_format(
    headers: &HeaderMap,
    format_param: Option<&str>,
) -> Result<Format, ApiError> {
    if let Some(f) = format_param {
        let (mime, params) = f.split_once(';').unwrap_or((f, ""));
        return match format_of_mime(mime) {
            Some(fmt) if check_fhir_version(params) => Ok(fmt),
            _ => Err(ApiError::NotAcceptable(format!(
                "_format '{f}' is not supported: use json or xml"
            ))),
        };
    }
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(Format::Json);
    };
    let mut ranges: Vec<(f32, &str, &str)> = accept
        .split(',')
        .map(|r| {
            let (mime, params) = r.split_once(';').unwrap_or((r, ""));
            let q = params
                .split(';')
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse().ok()))
                .unwrap_or(1.0);
            (q, mime.trim(), params)
        })
        .filter(|(q, _, _)| *q > 0.0)
        .collect();
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (_, mime, params) in ranges {
        if let Some(fmt) = format_of_mime(mime) {
            if check_fhir_version(params) {
                return Ok(fmt);
            }
        } else if matches!(mime, "*/*" | "application/*" | "") {
            return Ok(Format::Json);
        }
    }
    Err(ApiError::NotAcceptable(format!(
        "none of the accepted media types ({accept}) is served: use application/fhir+json or application/fhir+xml"
    )))
}

/// The request body's format, from `Content-Type`.
pub fn request_format(headers: &HeaderMap, body: &[u8]) -> Result<Format, ApiError> {
    match headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        Some(ct) => {
            let (mime, params) = ct.split_once(';').unwrap_or((ct, ""));
            match format_of_mime(mime) {
                Some(fmt) if check_fhir_version(params) => Ok(fmt),
                _ => Err(ApiError::UnsupportedMediaType(format!(
                    "Content-Type '{ct}' is not supported: send application/fhir+json or application/fhir+xml"
                ))),
            }
        }
        // Lenient for clients that omit the header, but only when the body tells.
        None => match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => Ok(Format::Json),
            Some(b'<') => Ok(Format::Xml),
            _ => Err(ApiError::UnsupportedMediaType(
                "the request has no Content-Type: send application/fhir+json or application/fhir+xml"
                    .into(),
            )),
        },
    }
}

/// Parses a resource body in `format` into its JSON form.
pub fn parse_resource(body: &[u8], format: Format) -> Result<Value, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("the request body is not UTF-8"))?;
    if text.trim().is_empty() {
        return Err(ApiError::bad_request(
            "the request body is empty; a resource is required",
        ));
    }
    let value = match format {
        Format::Json => serde_json::from_str::<Value>(text).map_err(|e| ApiError::BadRequest {
            code: "structure",
            message: format!("the body is not valid JSON: {e}"),
            expression: None,
        })?,
        Format::Xml => {
            helsebro_profiles::format::xml_to_json(text).map_err(|e| ApiError::BadRequest {
                code: "structure",
                message: e.to_string(),
                expression: None,
            })?
        }
    };
    if !value.is_object() {
        return Err(ApiError::BadRequest {
            code: "structure",
            message: "the body must be a JSON object with a resourceType".into(),
            expression: None,
        });
    }
    Ok(value)
}

/// A response whose body is FHIR JSON text, rendered in the negotiated format at the end.
pub struct FhirResponse {
    pub status: StatusCode,
    pub headers: Vec<(header::HeaderName, String)>,
    pub body: Option<String>,
}

impl FhirResponse {
    pub fn new(status: StatusCode, body: Option<String>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body,
        }
    }

    pub fn header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn render(self, format: Format) -> Response {
        let mut builder = Response::builder().status(self.status);
        for (name, value) in &self.headers {
            if let Ok(v) = HeaderValue::from_str(value) {
                builder = builder.header(name, v);
            }
        }
        let body = match (self.body, format) {
            (None, _) => return builder.body(Body::empty()).unwrap_or_default(),
            (Some(json), Format::Json) => json,
            (Some(json), Format::Xml) => match helsebro_profiles::format::json_to_xml(&json) {
                Ok(xml) => xml,
                Err(e) => {
                    tracing::error!(error = %e, "stored resource cannot be written as XML");
                    return render_error(ApiError::Internal(e.to_string()), Format::Json);
                }
            },
        };
        // A handler that serves something other than FHIR names its own type.
        if !self.headers.iter().any(|(n, _)| n == header::CONTENT_TYPE) {
            builder = builder.header(header::CONTENT_TYPE, format.content_type());
        }
        builder.body(Body::from(body)).unwrap_or_default()
    }
}

pub fn render_error(e: ApiError, format: Format) -> Response {
    if let Some(detail) = e.internal_detail() {
        tracing::error!(%detail, "request failed");
    }
    let status = e.status();
    let extra = match &e {
        ApiError::MethodNotAllowed { allow, .. } => Some((header::ALLOW, *allow)),
        // RFC 6750 §3: the error code only when a token was sent.
        ApiError::Unauthorized { invalid: false, .. } => {
            Some((header::WWW_AUTHENTICATE, r#"Bearer realm="helsebro""#))
        }
        ApiError::Unauthorized { invalid: true, .. } => Some((
            header::WWW_AUTHENTICATE,
            r#"Bearer realm="helsebro", error="invalid_token""#,
        )),
        ApiError::Forbidden(_) => Some((
            header::WWW_AUTHENTICATE,
            r#"Bearer realm="helsebro", error="insufficient_scope""#,
        )),
        _ => None,
    };
    let mut r = FhirResponse::new(status, Some(e.outcome().to_string()));
    if let Some((name, value)) = extra {
        r = r.header(name, value);
    }
    r.render(format)
}

/// What every FHIR handler returns: rendered in `format`, errors included, with the note
/// the logging layer turns into an access-log row.
pub struct Rendered(
    pub Format,
    pub Result<FhirResponse, ApiError>,
    pub Option<crate::audit::AuditNote>,
);

impl IntoResponse for Rendered {
    fn into_response(self) -> Response {
        let mut response = match self.1 {
            Ok(r) => r.render(self.0),
            Err(e) => render_error(e, self.0),
        };
        if let Some(note) = self.2 {
            response.extensions_mut().insert(note);
        }
        response
    }
}
