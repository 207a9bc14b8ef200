use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, StatusCode};

use super::{check_body_type, if_match, resource_response, with_prefer_return};
use crate::auth::scopes::Permission;
use crate::fhir::authorize::body_within;
use crate::fhir::error::ApiError;
use crate::fhir::format::{parse_resource, request_format, FhirResponse, Rendered};
use crate::fhir::{check_id, served_type, Ctx};
use crate::write_path::WritePath;

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
    check_body_type(&resource, rtype)?;
    match resource.get("id").and_then(|v| v.as_str()) {
        Some(body_id) if body_id == id => {}
        Some(body_id) => {
            return Err(ApiError::BadRequest {
                code: "invalid",
                message: format!("the body's id '{body_id}' does not match the URL's id '{id}'"),
                expression: Some(format!("{rtype}.id")),
            })
        }
        None => {
            return Err(ApiError::BadRequest {
                code: "required",
                message: "an update must carry the resource's id in the body".into(),
                expression: Some(format!("{rtype}.id")),
            })
        }
    }
    let expected = if_match(ctx)?;
    let reach = ctx.authorize(served, Permission::Update)?;
    body_within(served, &resource, &reach)?;
    // A token that reaches only some resources (a patient's compartment) updates those;
    // it may not create by PUT. Otherwise the answer for an id taken outside its reach
    // would differ from the answer for a free id, and tell that the id exists.
    if !reach.everything() && !ctx.stored_within(served, id, &reach).await? {
        return Err(ApiError::Forbidden(format!(
            "the access token does not reach {rtype}/{id}; it updates only resources it \
             reaches, and creates with POST"
        )));
    }
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
    let (status, what) = if written.created {
        (StatusCode::CREATED, "created")
    } else {
        (StatusCode::OK, "updated")
    };
    let mut response =
        resource_response(status, written.version, written.last_updated, written.json);
    if written.created {
        response = response.header(
            header::LOCATION,
            format!("{}/{rtype}/{id}/_history/{}", ctx.base(), written.version),
        );
    }
    Ok(with_prefer_return(ctx, response, what))
}
