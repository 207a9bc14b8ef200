//! The HTTP layer's errors, and the one place where every failure becomes an
//! `OperationOutcome` with its status code.

use axum::http::StatusCode;
use helsebro_profiles::structure::{IssueKind, StructureIssue};
use helsebro_profiles::validate::{Issue, Severity};
use serde_json::{json, Value};

use crate::auth::tokens::TokenError;
use crate::store::StoreError;
use crate::write_path::WriteError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest {
        /// OperationOutcome issue type, e.g. `invalid`, `structure`, `value`.
        code: &'static str,
        message: String,
        expression: Option<String>,
    },
    /// A `400` whose issue also carries a code of the receiving service's own code system
    /// in `details` (VKP's `vkp-operation-outcome-v090`).
    #[error("{message}")]
    Coded {
        code: &'static str,
        details: (&'static str, &'static str, &'static str),
        message: String,
        expression: Option<String>,
    },
    #[error("the resource is not valid FHIR R4")]
    Structure(Vec<StructureIssue>),
    #[error("{0}")]
    Unprocessable(#[from] helsebro_mappings::MappingError),
    /// Validation against the tenant's level found errors: `422` listing every issue.
    #[error("the resource does not conform to the profile the tenant requires")]
    Invalid(Vec<Issue>),
    #[error("{0} is not a resource type this server serves")]
    UnknownType(String),
    #[error("{0} is not known")]
    NotFound(String),
    #[error("{0} has been deleted")]
    Gone(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    NotAcceptable(String),
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{message}")]
    MethodNotAllowed {
        message: String,
        /// The methods the path supports, for the `Allow` header.
        allow: &'static str,
    },
    /// No token, or one that cannot be honoured (`invalid`).
    #[error("{message}")]
    Unauthorized { message: String, invalid: bool },
    /// A valid token that does not grant this.
    #[error("{0}")]
    Forbidden(String),
    /// Something the request needs is down (the access log): nothing was returned.
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
    /// An entry of a batch or transaction Bundle failed: the outcome names it.
    #[error("Bundle.entry[{index}]: {error}")]
    InEntry { index: usize, error: Box<ApiError> },
    #[error(
        "the Bundle has {count} entries; at most {max} are processed in one batch or transaction"
    )]
    TooManyEntries { count: usize, max: usize },
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code: "invalid",
            message: message.into(),
            expression: None,
        }
    }

    /// What an internal error hides from the client, for the server's log.
    pub fn internal_detail(&self) -> Option<&str> {
        match self {
            ApiError::Internal(detail) => Some(detail),
            ApiError::InEntry { error, .. } => error.internal_detail(),
            _ => None,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } | ApiError::Coded { .. } | ApiError::Structure(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::Unprocessable(_) | ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UnknownType(_) | ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            // POST is allowed at the base: an entry's refused method is a bad Bundle.
            ApiError::InEntry { error, .. } => match **error {
                ApiError::MethodNotAllowed { .. } => StatusCode::BAD_REQUEST,
                ref other => other.status(),
            },
            ApiError::TooManyEntries { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }

    /// The OperationOutcome a client receives. Internal details never leave the server.
    pub fn outcome(&self) -> Value {
        let issues: Vec<Value> = match self {
            ApiError::BadRequest {
                code,
                message,
                expression,
            } => vec![issue(code, message, expression.as_deref())],
            ApiError::Coded {
                code,
                details: (system, detail, display),
                message,
                expression,
            } => {
                let mut i = issue(code, message, expression.as_deref());
                i["details"] =
                    json!({"coding": [{"system": system, "code": detail, "display": display}]});
                vec![i]
            }
            ApiError::Structure(list) => list
                .iter()
                .map(|i| {
                    let code = match i.kind {
                        IssueKind::Structure => "structure",
                        IssueKind::Required => "required",
                        IssueKind::Value => "value",
                        IssueKind::Invalid => "invalid",
                    };
                    issue(code, &i.message, Some(&i.expression))
                })
                .collect(),
            ApiError::Unprocessable(e) => e
                .issues
                .iter()
                .map(|i| issue("business-rule", &i.message, Some(&i.expression)))
                .collect(),
            ApiError::Invalid(list) => list.iter().map(validation_issue).collect(),
            ApiError::UnknownType(_) => vec![issue("not-supported", &self.to_string(), None)],
            ApiError::NotFound(_) => vec![issue("not-found", &self.to_string(), None)],
            ApiError::Gone(_) => vec![issue("deleted", &self.to_string(), None)],
            ApiError::PreconditionFailed(_) | ApiError::Conflict(_) => {
                vec![issue("conflict", &self.to_string(), None)]
            }
            ApiError::UnsupportedMediaType(_) | ApiError::NotAcceptable(_) => {
                vec![issue("not-supported", &self.to_string(), None)]
            }
            ApiError::PayloadTooLarge(_) => vec![issue("too-long", &self.to_string(), None)],
            ApiError::MethodNotAllowed { .. } => {
                vec![issue("not-supported", &self.to_string(), None)]
            }
            ApiError::Unauthorized { .. } => vec![issue("login", &self.to_string(), None)],
            ApiError::Forbidden(_) => vec![issue("forbidden", &self.to_string(), None)],
            ApiError::Unavailable(_) => vec![issue("transient", &self.to_string(), None)],
            ApiError::Internal(_) => vec![issue(
                "exception",
                "the server could not complete the request; it has been logged",
                None,
            )],
            ApiError::InEntry { index, error } => {
                return in_entry(*index, error.outcome());
            }
            ApiError::TooManyEntries { .. } => {
                vec![issue("too-long", &self.to_string(), Some("Bundle.entry"))]
            }
        };
        json!({"resourceType": "OperationOutcome", "issue": issues})
    }
}

/// An entry's outcome as the Bundle's: each issue names the entry, and paths within the
/// entry's resource (`Observation.subject`) become paths within the Bundle.
fn in_entry(index: usize, mut outcome: Value) -> Value {
    let entry = format!("Bundle.entry[{index}]");
    for issue in outcome["issue"].as_array_mut().into_iter().flatten() {
        let diagnostics = issue["diagnostics"].as_str().unwrap_or_default();
        issue["diagnostics"] = json!(format!("{entry}: {diagnostics}"));
        let paths: Vec<String> = match issue["expression"].as_array() {
            Some(list) => list
                .iter()
                .filter_map(Value::as_str)
                .map(|p| within_entry(&entry, p))
                .collect(),
            None => vec![entry.clone()],
        };
        issue["expression"] = json!(paths);
    }
    outcome
}

fn within_entry(entry: &str, path: &str) -> String {
    if path.starts_with("Bundle.entry[") {
        return path.to_string();
    }
    let starts_with_type = path.chars().next().is_some_and(|c| c.is_ascii_uppercase());
    match path.split_once('.') {
        Some((_, rest)) if starts_with_type => format!("{entry}.resource.{rest}"),
        None if starts_with_type => format!("{entry}.resource"),
        _ => format!("{entry}.{path}"),
    }
}

fn issue(code: &str, message: &str, expression: Option<&str>) -> Value {
    let mut v = json!({"severity": "error", "code": code, "diagnostics": message});
    if let Some(e) = expression {
        v["expression"] = json!([e]);
    }
    v
}

/// A validation issue as an OperationOutcome issue, with its own severity: the 422 of a
/// refused write and `$validate`'s answer list issues alike.
pub fn validation_issue(i: &Issue) -> Value {
    json!({
        "severity": match i.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Information => "information",
        },
        "code": i.code,
        "diagnostics": i.message,
        "expression": [i.expression],
    })
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => {
                ApiError::Conflict("the resource was changed by another request; retry".into())
            }
            StoreError::Refused(why) => ApiError::Conflict(why),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Missing => ApiError::Unauthorized {
                message: e.to_string(),
                invalid: false,
            },
            TokenError::Invalid(reason) => {
                tracing::info!(%reason, "access token refused");
                ApiError::Unauthorized {
                    message: TokenError::Invalid(String::new()).to_string(),
                    invalid: true,
                }
            }
            TokenError::Keys(k) => ApiError::Internal(k.to_string()),
            TokenError::Store(s) => s.into(),
        }
    }
}

impl From<WriteError> for ApiError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Structure(issues) => ApiError::Structure(issues),
            WriteError::Unprocessable(m) => ApiError::Unprocessable(m),
            WriteError::Invalid(issues) => ApiError::Invalid(issues),
            WriteError::VersionMismatch { expected, current } => {
                ApiError::PreconditionFailed(format!(
                    "If-Match expected version {expected}, but the current version is {current}"
                ))
            }
            WriteError::AmbiguousCondition(n) => ApiError::PreconditionFailed(format!(
                "the If-None-Exist criteria match {n} resources; they must match at most one"
            )),
            WriteError::Store(s) => s.into(),
        }
    }
}
