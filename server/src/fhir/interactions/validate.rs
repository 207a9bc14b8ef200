//! `POST [base]/{type}/$validate`: checks a resource against R4 and a profile we carry (the
//! `profile` parameter, else the profiles it claims in `meta.profile`) without storing it.
//! The body is the resource, or a Parameters with `resource` (and `profile`). The answer
//! is `200` with an OperationOutcome listing every issue, or one informational issue
//! when there is none. Any valid token may ask: nothing is read or written.

use axum::body::Body;
use axum::extract::Path;
use axum::http::StatusCode;
use helsebro_profiles::validate::{validate, Issue, Severity};
use serde_json::{json, Value};

use super::check_body_type;
use crate::fhir::error::ApiError;
use crate::fhir::format::{parse_resource, request_format, FhirResponse, Rendered};
use crate::fhir::Ctx;

pub async fn handle(mut ctx: Ctx, Path(rtype): Path<String>, body: Body) -> Rendered {
    ctx.note("operation", format!("{rtype}/$validate"));
    let result = run(&mut ctx, &rtype, body).await;
    ctx.render(result)
}

async fn run(ctx: &mut Ctx, rtype: &str, body: Body) -> Result<FhirResponse, ApiError> {
    ctx.negotiated()?;
    ctx.access()?;
    if !helsebro_profiles::structure::is_resource_type(rtype) {
        return Err(ApiError::UnknownType(rtype.to_string()));
    }
    let bytes = ctx.body(body).await?;
    let body = parse_resource(&bytes, request_format(&ctx.headers, &bytes)?)?;
    let mut profile = ctx
        .query
        .iter()
        .find(|(k, _)| k == "profile")
        .map(|(_, v)| v.clone());
    let resource = if body["resourceType"] == "Parameters" {
        let parameter = |name: &str| {
            body["parameter"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["name"] == name))
                .cloned()
        };
        if let Some(p) = parameter("profile") {
            profile = p["valueUri"]
                .as_str()
                .or_else(|| p["valueCanonical"].as_str())
                .map(str::to_string)
                .or(profile);
        }
        parameter("resource")
            .map(|p| p["resource"].clone())
            .filter(Value::is_object)
            .ok_or_else(|| ApiError::BadRequest {
                code: "required",
                message: "a Parameters body needs a 'resource' parameter".into(),
                expression: Some("Parameters.parameter".into()),
            })?
    } else {
        body
    };
    check_body_type(&resource, rtype)?;
    let issues = validate(&resource, profile.as_deref());
    Ok(FhirResponse::new(
        StatusCode::OK,
        Some(outcome(&issues).to_string()),
    ))
}

/// The OperationOutcome of a validation: every issue, or "no issues".
pub fn outcome(issues: &[Issue]) -> Value {
    let list: Vec<Value> = if issues.is_empty() {
        vec![json!({"severity": "information", "code": "informational",
                    "diagnostics": "no issues: the resource is valid"})]
    } else {
        issues
            .iter()
            .map(|i| {
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
            })
            .collect()
    };
    json!({"resourceType": "OperationOutcome", "issue": list})
}
