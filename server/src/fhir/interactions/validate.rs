//! `POST [base]/{type}/$validate` and `POST [base]/{type}/{id}/$validate`: would this
//! resource be accepted? Nothing is read but the tenant's setting (and, for `mode=delete`,
//! whether the resource exists); nothing is written.
//!
//! Parameters, in the query or in a Parameters body (the body may also be the resource):
//! - `resource`: what to check; not needed for `mode=delete`.
//! - `profile`: check against this profile we carry (else the error "not known").
//!   Without it, the tenant's write-validation level applies, with the platform's rules,
//!   so the answer is what a create or update would say.
//! - `mode`: `create`, `update` (the resource must carry an id, equal to the nominated
//!   one) or `delete` (the nominated resource must exist in the tenant, within the
//!   token's reach). The nominated resource is the instance of the URL or, at type level,
//!   the `id` parameter.
//!
//! The answer is `200` with an OperationOutcome listing every issue, or one informational
//! issue when there is none; a `4xx` means the validation could not be performed.

use axum::body::Body;
use axum::extract::Path;
use axum::http::StatusCode;
use helsebro_profiles::validate::{validate, Issue, Severity};
use serde_json::{json, Value};

use super::check_body_type;
use crate::auth::scopes::Permission;
use crate::fhir::error::{validation_issue, ApiError};
use crate::fhir::format::{parse_resource, request_format, FhirResponse, Rendered};
use crate::fhir::{check_id, Ctx};
use crate::served::ServedType;
use crate::write_path::profile_check::{business_rule, profile_for};
use crate::write_path::WritePath;

pub async fn handle(mut ctx: Ctx, Path(rtype): Path<String>, body: Body) -> Rendered {
    ctx.note("operation", format!("{rtype}/$validate"));
    let result = run(&mut ctx, &rtype, None, body).await;
    ctx.render(result)
}

/// The instance-level form, for `mode=update` and `mode=delete`.
pub async fn instance(
    mut ctx: Ctx,
    Path((rtype, id)): Path<(String, String)>,
    body: Body,
) -> Rendered {
    ctx.note("operation", format!("{rtype}/{id}/$validate"));
    let result = run(&mut ctx, &rtype, Some(id), body).await;
    ctx.render(result)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    General,
    Create,
    Update,
    Delete,
}

/// The operation's parameters, from the query and the body.
struct Request {
    resource: Option<Value>,
    mode: Mode,
    profile: Option<String>,
    /// The nominated resource's id (`update`, `delete`).
    id: Option<String>,
}

async fn run(
    ctx: &mut Ctx,
    rtype: &str,
    path_id: Option<String>,
    body: Body,
) -> Result<FhirResponse, ApiError> {
    ctx.negotiated()?;
    ctx.access()?;
    if !helsebro_profiles::structure::is_resource_type(rtype) {
        return Err(ApiError::UnknownType(rtype.to_string()));
    }
    let bytes = ctx.body(body).await?;
    let mut request = read_request(ctx, &bytes)?;
    if let Some(id) = path_id {
        check_id(&id)?;
        request.id = Some(id);
    }
    let issues = match request.mode {
        Mode::Delete => deletable(ctx, rtype, request.id.as_deref()).await?,
        mode => {
            let resource = request.resource.ok_or_else(|| ApiError::BadRequest {
                code: "required",
                message: "a resource to validate is needed (the body, or the 'resource' \
                          parameter of a Parameters body)"
                    .into(),
                expression: None,
            })?;
            check_body_type(&resource, rtype)?;
            let mut issues = Vec::new();
            if mode == Mode::Update {
                issues.extend(update_id_issue(rtype, &resource, request.id.as_deref()));
            }
            issues.extend(match request.profile {
                Some(profile) => validate(&resource, Some(&profile)),
                None => as_written(ctx, rtype, &resource),
            });
            issues
        }
    };
    Ok(FhirResponse::new(
        StatusCode::OK,
        Some(outcome(&issues).to_string()),
    ))
}

/// Reads `resource`, `mode`, `profile` and `id` from the query and the body; a body
/// parameter wins over the same query parameter.
fn read_request(ctx: &Ctx, bytes: &[u8]) -> Result<Request, ApiError> {
    let query = |name: &str| {
        ctx.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut profile = query("profile");
    let mut mode = query("mode");
    let mut id = query("id");
    let body = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(parse_resource(bytes, request_format(&ctx.headers, bytes)?)?)
    };
    let resource = match body {
        Some(body) if body["resourceType"] == "Parameters" => {
            let parameter = |name: &str| {
                body["parameter"]
                    .as_array()
                    .and_then(|ps| ps.iter().find(|p| p["name"] == name))
            };
            let text = |name: &str, keys: &[&str]| {
                parameter(name)
                    .and_then(|p| keys.iter().find_map(|k| p[*k].as_str()))
                    .map(str::to_string)
            };
            profile = text("profile", &["valueUri", "valueCanonical"]).or(profile);
            mode = text("mode", &["valueCode"]).or(mode);
            id = text("id", &["valueId", "valueString"]).or(id);
            match parameter("resource") {
                Some(p) if p["resource"].is_object() => Some(p["resource"].clone()),
                Some(_) => {
                    return Err(ApiError::BadRequest {
                        code: "required",
                        message: "the 'resource' parameter carries no resource".into(),
                        expression: Some("Parameters.parameter".into()),
                    })
                }
                None => None,
            }
        }
        other => other,
    };
    let mode = match mode.as_deref() {
        None => Mode::General,
        Some("create") => Mode::Create,
        Some("update") => Mode::Update,
        Some("delete") => Mode::Delete,
        Some(other) => {
            return Err(ApiError::BadRequest {
                code: "code-invalid",
                message: format!("mode '{other}' is none of create, update, delete"),
                expression: Some("mode".into()),
            })
        }
    };
    Ok(Request {
        resource,
        mode,
        profile,
        id,
    })
}

/// What a write of `resource` would say: the tenant's level for every type, and the
/// platform's rules for the types we serve.
fn as_written(ctx: &Ctx, rtype: &str, resource: &Value) -> Vec<Issue> {
    let level = ctx.tenant().write_validation;
    let mut issues = validate(resource, profile_for(level, resource));
    // `check` stops at R4 structure errors, which `validate` has already listed.
    if let Some(served) = ServedType::from_name(rtype) {
        let path = WritePath {
            store: &ctx.state.store,
            tenant: ctx.tenant(),
            base_url: ctx.base(),
            audit: None,
        };
        if let Err(crate::write_path::WriteError::Unprocessable(m)) = path.check(served, resource) {
            issues.extend(m.issues.into_iter().map(business_rule));
        }
    }
    issues
}

/// `mode=update`: the resource must carry an id, the nominated one when there is one.
fn update_id_issue(rtype: &str, resource: &Value, nominated: Option<&str>) -> Option<Issue> {
    let message = match (resource["id"].as_str(), nominated) {
        (None, _) => "an update must carry the resource's id".to_string(),
        (Some(own), Some(nominated)) if own != nominated => {
            format!("the resource's id '{own}' is not the nominated id '{nominated}'")
        }
        _ => return None,
    };
    Some(Issue {
        severity: Severity::Error,
        code: "invalid",
        expression: format!("{rtype}.id"),
        message,
    })
}

/// `mode=delete`: the nominated resource must exist in this tenant, within the token's
/// reach for deletion. A refusal is an issue, not a `4xx`: the validation was performed.
async fn deletable(ctx: &Ctx, rtype: &str, id: Option<&str>) -> Result<Vec<Issue>, ApiError> {
    let refused = |code, message: String| {
        Ok(vec![Issue {
            severity: Severity::Error,
            code,
            expression: rtype.to_string(),
            message,
        }])
    };
    let Some(id) = id else {
        return Err(ApiError::BadRequest {
            code: "required",
            message: "mode=delete needs the resource to delete: POST {type}/{id}/$validate, \
                      or the 'id' parameter"
                .into(),
            expression: Some("id".into()),
        });
    };
    check_id(id)?;
    let Some(served) = ServedType::from_name(rtype) else {
        return refused(
            "not-supported",
            format!("{rtype} is not a type this server stores"),
        );
    };
    let reach = match ctx.authorize(served, Permission::Delete) {
        Ok(reach) => reach,
        Err(ApiError::Forbidden(why)) => return refused("forbidden", why),
        Err(other) => return Err(other),
    };
    let current = ctx
        .state
        .store
        .read_current(&ctx.tenant().id, rtype, id)
        .await?;
    let exists = current.is_some_and(|c| !c.deleted);
    if !exists || !ctx.stored_within(served, id, &reach).await? {
        return refused("not-found", format!("{rtype}/{id} does not exist"));
    }
    Ok(Vec::new())
}

/// The OperationOutcome of a validation: every issue, or "no issues".
pub fn outcome(issues: &[Issue]) -> Value {
    let list: Vec<Value> = if issues.is_empty() {
        vec![json!({"severity": "information", "code": "informational",
                    "diagnostics": "no issues: the resource is valid"})]
    } else {
        issues.iter().map(validation_issue).collect()
    };
    json!({"resourceType": "OperationOutcome", "issue": list})
}
