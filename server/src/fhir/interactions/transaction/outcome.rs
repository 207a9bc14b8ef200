//! An entry's answer as a `batch-response` or `transaction-response` entry: the
//! interaction's status, headers and body become `response.status`, `location`, `etag`,
//! `lastModified`, and the resource or the OperationOutcome.

use axum::http::header;
use serde_json::{json, Map, Value};

use crate::fhir::bundle::{raw, Entry};
use crate::fhir::error::ApiError;
use crate::fhir::format::FhirResponse;
use helsebro_mappings::dates::format_instant;

/// `Prefer: return=…` of the Bundle request, applied to its write entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Return {
    Representation,
    Minimal,
    OperationOutcome,
}

impl Return {
    pub fn of(prefer: Option<&str>) -> Return {
        match prefer {
            Some("minimal") => Return::Minimal,
            Some("OperationOutcome") => Return::OperationOutcome,
            _ => Return::Representation,
        }
    }
}

/// What the entry's interaction answered, and where its resource is.
pub struct Answer {
    pub result: Result<FhirResponse, ApiError>,
    /// `Type/id/_history/vid` of a version written.
    pub location: Option<String>,
    pub last_updated: Option<i64>,
    /// Whether `Prefer: return` applies (writes) or the body is the answer (reads).
    pub write: bool,
}

pub fn entry(base: &str, answer: Answer, returns: Return) -> Entry {
    let response = match answer.result {
        Ok(r) => r,
        Err(e) => {
            if let Some(detail) = e.internal_detail() {
                tracing::error!(%detail, "a Bundle entry failed");
            }
            let mut response = Map::new();
            response.insert("status".into(), json!(status_line(e.status())));
            response.insert("outcome".into(), e.outcome());
            return Entry {
                response: Some(Value::Object(response)),
                ..Default::default()
            };
        }
    };
    let header_of = |name: header::HeaderName| {
        response
            .headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    };
    let prefix = format!("{base}/");
    let location = answer.location.or_else(|| {
        header_of(header::LOCATION).map(|l| l.strip_prefix(&prefix).unwrap_or(&l).to_string())
    });
    let last_modified = answer.last_updated.map(format_instant).or_else(|| {
        let date = header_of(header::LAST_MODIFIED)?;
        let t = httpdate::parse_http_date(&date).ok()?;
        let micros = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_micros();
        Some(format_instant(i64::try_from(micros).ok()?))
    });
    let mut fields = Map::new();
    fields.insert("status".into(), json!(status_line(response.status)));
    if let Some(l) = &location {
        fields.insert("location".into(), json!(l));
    }
    if let Some(etag) = header_of(header::ETAG) {
        fields.insert("etag".into(), json!(etag));
    }
    if let Some(t) = last_modified {
        fields.insert("lastModified".into(), json!(t));
    }
    let returns = if answer.write {
        returns
    } else {
        Return::Representation
    };
    if returns == Return::OperationOutcome && response.status.is_success() {
        fields.insert(
            "outcome".into(),
            json!({"resourceType": "OperationOutcome", "issue": [{"severity": "information",
                "code": "informational", "diagnostics": status_line(response.status)}]}),
        );
    }
    let resource = response.body.filter(|_| returns == Return::Representation);
    // The resource's own URL: `Type/id` of where it was written.
    let full_url = location.as_deref().filter(|_| resource.is_some()).map(|l| {
        let mut parts = l.splitn(3, '/');
        let (t, id) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        format!("{prefix}{t}/{id}")
    });
    Entry {
        full_url,
        resource: resource.map(raw),
        response: Some(Value::Object(fields)),
        ..Default::default()
    }
}

/// `201 Created`: the code and its reason phrase, as `Bundle.entry.response.status` is
/// written.
fn status_line(status: axum::http::StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}
