use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, StatusCode};

use super::{check_body_type, if_match, resource_response, write_answer};
use crate::auth::access::Reach;
use crate::auth::scopes::Permission;
use crate::fhir::authorize::body_within;
use crate::fhir::error::ApiError;
use crate::fhir::format::{parse_resource, request_format, FhirResponse, Rendered};
use crate::fhir::{check_id, served_type, Ctx};
use crate::served::ServedType;
use crate::write_path::{WritePath, Written};
use serde_json::Value;

pub async fn handle(
    mut ctx: Ctx,
    Path((rtype, id)): Path<(String, String)>,
    body: Body,
) -> Rendered {
    let result = update(&mut ctx, &rtype, &id, body).await;
    ctx.render(result)
}

async fn update(
    ctx: &mut Ctx,
    rtype: &str,
    id: &str,
    body: Body,
) -> Result<FhirResponse, ApiError> {
    ctx.negotiated()?;
    let served = served_type(rtype)?;
    check_id(id)?;
    let bytes = ctx.body(body).await?;
    let resource = parse_resource(&bytes, request_format(&ctx.headers, &bytes)?)?;
    check_update_body(served, id, &resource)?;
    let expected = if_match(ctx)?;
    let reach = check_update(ctx, served, &resource)?;
    check_update_reach(ctx, served, id, &reach).await?;
    let audit = ctx.audit_in_write("update", format!("{rtype}/{id}"), None);
    let written = WritePath {
        store: &ctx.state.store,
        tenant: ctx.tenant(),
        base_url: ctx.base(),
        audit: Some(&audit),
    }
    .update(served, id, resource, expected)
    .await?;
    ctx.audited_in_write();
    let created = written.created;
    let response = updated_response(ctx.base(), served, written);
    Ok(write_answer(ctx, response, created, "updated"))
}

/// An update's body names the type and the id of its URL.
pub fn check_update_body(served: ServedType, id: &str, resource: &Value) -> Result<(), ApiError> {
    let rtype = served.name();
    check_body_type(resource, rtype)?;
    match resource.get("id").and_then(|v| v.as_str()) {
        Some(body_id) if body_id == id => Ok(()),
        Some(body_id) => Err(ApiError::BadRequest {
            code: "invalid",
            message: format!("the body's id '{body_id}' does not match the URL's id '{id}'"),
            expression: Some(format!("{rtype}.id")),
        }),
        None => Err(ApiError::BadRequest {
            code: "required",
            message: "an update must carry the resource's id in the body".into(),
            expression: Some(format!("{rtype}.id")),
        }),
    }
}

/// The token's permission to update, and that `resource` stays within its reach.
pub fn check_update(ctx: &Ctx, served: ServedType, resource: &Value) -> Result<Reach, ApiError> {
    let reach = ctx.authorize(served, Permission::Update)?;
    body_within(served, resource, &reach)?;
    Ok(reach)
}

/// A token that reaches only some resources (a patient's compartment) updates those; it
/// may not create by PUT. Otherwise the answer for an id taken outside its reach would
/// differ from the answer for a free id, and tell that the id exists.
pub async fn check_update_reach(
    ctx: &Ctx,
    served: ServedType,
    id: &str,
    reach: &Reach,
) -> Result<(), ApiError> {
    if !reach.everything() && !ctx.stored_within(served, id, reach).await? {
        return Err(ApiError::Forbidden(format!(
            "the access token does not reach {}/{id}; it updates only resources it \
             reaches, and creates with POST",
            served.name()
        )));
    }
    Ok(())
}

/// `200` with the new version, or `201` with a `Location` when the update created it.
pub fn updated_response(base: &str, served: ServedType, written: Written) -> FhirResponse {
    let (status, location) = if written.created {
        let location = format!(
            "{base}/{}/{}/_history/{}",
            served.name(),
            written.id,
            written.version
        );
        (StatusCode::CREATED, Some(location))
    } else {
        (StatusCode::OK, None)
    };
    let response = resource_response(status, written.version, written.last_updated, written.json);
    match location {
        Some(l) => response.header(header::LOCATION, l),
        None => response,
    }
}
