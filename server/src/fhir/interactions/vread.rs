use axum::extract::Path;
use axum::http::StatusCode;

use super::resource_response;
use crate::auth::scopes::Permission;
use crate::fhir::error::ApiError;
use crate::fhir::format::{FhirResponse, Rendered};
use crate::fhir::{check_id, served_type, Ctx};

pub async fn handle(
    mut ctx: Ctx,
    Path((rtype, id, vid)): Path<(String, String, String)>,
) -> Rendered {
    let result = vread(&mut ctx, &rtype, &id, &vid).await;
    ctx.render(result)
}

pub async fn vread(
    ctx: &mut Ctx,
    rtype: &str,
    id: &str,
    vid: &str,
) -> Result<FhirResponse, ApiError> {
    ctx.note("vread", format!("{rtype}/{id}/_history/{vid}"));
    ctx.negotiated()?;
    let served = served_type(rtype)?;
    check_id(id)?;
    let reach = ctx.authorize(served, Permission::Read)?;
    if !ctx.stored_within(served, id, &reach).await? {
        return Err(ApiError::NotFound(format!("{rtype}/{id}")));
    }
    let what = format!("{rtype}/{id}/_history/{vid}");
    let version: i64 = vid.parse().map_err(|_| ApiError::NotFound(what.clone()))?;
    let stored = ctx
        .state
        .store
        .read_version(&ctx.tenant().id, served.name(), id, version)
        .await?
        .ok_or_else(|| ApiError::NotFound(what.clone()))?;
    match stored.json {
        Some(json) => Ok({
            ctx.note_patient(crate::audit::patients::patient_of_json(served, &json));
            resource_response(StatusCode::OK, stored.version, stored.last_updated, json)
        }),
        None => Err(ApiError::Gone(what)),
    }
}
