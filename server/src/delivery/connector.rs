//! What every connector reports, and how an HTTP answer becomes a failure reason. The
//! split that matters is between failures worth retrying (the receiver is down, slow or
//! overloaded) and refusals that would come back the same however often we tried.

use reqwest::{Response, StatusCode};
use serde_json::Value;

use super::helseid::HelseIdError;
use crate::store::deliveries::DeliveryState;

/// The register's failure reason: a short machine code and a text for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: String,
    pub text: String,
}

impl Failure {
    pub fn new(code: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            text: text.into(),
        }
    }
}

/// The result of sending a document.
#[derive(Debug)]
pub enum SendOutcome {
    /// The receiver took it: `Sent` when a status follows, or a final state.
    Taken {
        state: DeliveryState,
        remote_id: Option<String>,
        location: Option<String>,
        remote_status: Option<String>,
    },
    Retry(Failure),
    Refused(Failure),
}

/// What the receiver says of a sent document.
#[derive(Debug, Default)]
pub struct StatusReport {
    pub state: Option<DeliveryState>,
    pub remote_status: Option<String>,
    pub registered_at: Option<i64>,
    pub read_at: Option<i64>,
    pub journaled_at: Option<i64>,
    pub failure: Option<Failure>,
}

#[derive(Debug)]
pub enum PollOutcome {
    Status(StatusReport),
    Retry(Failure),
}

/// What a FHIR document POST adds to its request: the body and its media types.
pub fn fhir_json_body(
    content: &str,
) -> impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder + Send + Sync {
    let body = content.to_string();
    move |r: reqwest::RequestBuilder| {
        r.header(reqwest::header::CONTENT_TYPE, "application/fhir+json")
            .header(reqwest::header::ACCEPT, "application/fhir+json")
            .body(body.clone())
    }
}

/// A failure before any answer: no token, no connection, no answer in time.
pub fn transport_failure(e: &HelseIdError) -> SendOutcome {
    let failure = Failure::new(e.code(), e.to_string());
    if e.retryable() {
        SendOutcome::Retry(failure)
    } else {
        SendOutcome::Refused(failure)
    }
}

/// Whether an HTTP status is worth a retry: the receiver is down, overloaded or slow.
pub fn retryable_status(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        // Our token may have expired in flight; the next attempt gets a new one.
        || status == StatusCode::UNAUTHORIZED
}

/// The reason behind an unsuccessful answer. An OperationOutcome's first issue gives the
/// code: the coding of its `details` when there is one (VKP puts its own codes there),
/// else the FHIR issue type.
pub async fn unsuccessful(response: Response) -> SendOutcome {
    let status = response.status();
    let failure = failure_of(response).await;
    if retryable_status(status) {
        SendOutcome::Retry(failure)
    } else {
        SendOutcome::Refused(failure)
    }
}

/// The reason an answer gives, whatever its status.
pub async fn failure_of(response: Response) -> Failure {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    reason(status, &body)
}

/// `http:<status>[:<code>]` and the outcome's text, from an answer's status and body.
pub fn reason(status: StatusCode, body: &str) -> Failure {
    let outcome: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let issue = &outcome["issue"][0];
    let detail = &issue["details"]["coding"][0];
    let code = detail["code"]
        .as_str()
        .map(|c| {
            let system = detail["system"].as_str().unwrap_or_default();
            if system.contains("vkp-operation-outcome") {
                format!("vkp:{c}")
            } else {
                c.to_string()
            }
        })
        .or_else(|| issue["code"].as_str().map(str::to_string));
    let text = issue["diagnostics"]
        .as_str()
        .or_else(|| issue["details"]["text"].as_str())
        .or_else(|| detail["display"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("").to_string());
    let code = match code {
        Some(c) if c.starts_with("vkp:") => c,
        Some(c) => format!("http:{}:{c}", status.as_u16()),
        None => format!("http:{}", status.as_u16()),
    };
    Failure::new(code, truncate(&text, 500))
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The last path segment of a `Location`: the receiver's id for the document.
pub fn id_of_location(location: &str) -> Option<String> {
    location
        .split(['?', '#'])
        .next()?
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vkp_codes_become_the_reason() {
        let body = r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid",
            "details":{"coding":[{"system":"http://ehelse.no/fhir/CodeSystem/vkp-operation-outcome-v090","code":"2.1","display":"ugyldig personidentifikator"}]}}]}"#;
        let f = reason(StatusCode::BAD_REQUEST, body);
        assert_eq!(f.code, "vkp:2.1");
        assert_eq!(f.text, "ugyldig personidentifikator");
    }

    #[test]
    fn fhir_issue_codes_and_bare_statuses() {
        let body = r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","diagnostics":"the Bundle must be of type document"}]}"#;
        let f = reason(StatusCode::BAD_REQUEST, body);
        assert_eq!(f.code, "http:400:invalid");
        assert_eq!(f.text, "the Bundle must be of type document");
        let f = reason(StatusCode::INTERNAL_SERVER_ERROR, "<html>oops</html>");
        assert_eq!(f.code, "http:500");
        assert_eq!(f.text, "Internal Server Error");
    }

    #[test]
    fn which_statuses_are_retried() {
        assert!(retryable_status(StatusCode::SERVICE_UNAVAILABLE));
        assert!(retryable_status(StatusCode::TOO_MANY_REQUESTS));
        assert!(!retryable_status(StatusCode::BAD_REQUEST));
        assert!(!retryable_status(StatusCode::FORBIDDEN));
    }

    #[test]
    fn ids_from_locations() {
        assert_eq!(
            id_of_location("http://x/jft/v1/Bundle/abc-1").as_deref(),
            Some("abc-1")
        );
        assert_eq!(id_of_location("http://x/messages/9/").as_deref(), Some("9"));
    }
}
