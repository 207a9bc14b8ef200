use axum::extract::Path;
use axum::http::{header, StatusCode};

use super::{etag, resource_response};
use crate::auth::scopes::Permission;
use crate::fhir::error::ApiError;
use crate::fhir::format::{FhirResponse, Rendered};
use crate::fhir::{check_id, served_type, Ctx};

pub async fn handle(mut ctx: Ctx, Path((rtype, id)): Path<(String, String)>) -> Rendered {
    let result = read(&mut ctx, &rtype, &id).await;
    ctx.render(result)
}

pub async fn read(ctx: &mut Ctx, rtype: &str, id: &str) -> Result<FhirResponse, ApiError> {
    ctx.note("read", format!("{rtype}/{id}"));
    ctx.negotiated()?;
    let served = served_type(rtype)?;
    check_id(id)?;
    // Outside the token's reach is the same answer as not there: existence does not leak.
    let reach = ctx.authorize(served, Permission::Read)?;
    if !ctx.stored_within(served, id, &reach).await? {
        return Err(ApiError::NotFound(format!("{rtype}/{id}")));
    }
    let current = ctx
        .state
        .store
        .read_current(&ctx.tenant().id, served.name(), id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("{rtype}/{id}")))?;
    if current.deleted {
        return Err(ApiError::Gone(format!("{rtype}/{id}")));
    }
    if ctx.header(header::IF_NONE_MATCH) == Some(etag(current.version).as_str()) {
        return Ok(FhirResponse::new(StatusCode::NOT_MODIFIED, None)
            .header(header::ETAG, etag(current.version)));
    }
    let json = current.json.unwrap_or_default();
    ctx.note("read", format!("{rtype}/{id}/_history/{}", current.version));
    ctx.note_patient(crate::audit::patients::patient_of_json(served, &json));
    Ok(resource_response(
        StatusCode::OK,
        current.version,
        current.last_updated,
        json,
    ))
}
