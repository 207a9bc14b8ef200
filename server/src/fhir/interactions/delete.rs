use axum::extract::Path;
use axum::http::{header, StatusCode};

use super::etag;
use crate::auth::scopes::Permission;
use crate::fhir::error::ApiError;
use crate::fhir::format::{FhirResponse, Rendered};
use crate::fhir::{check_id, served_type, Ctx};
use crate::served::ServedType;
use crate::write_path::{DeleteOutcome, WritePath};

pub async fn handle(mut ctx: Ctx, Path((rtype, id)): Path<(String, String)>) -> Rendered {
    let result = delete(&mut ctx, &rtype, &id).await;
    ctx.render(result)
}

/// Deleting what does not exist (or no longer does) succeeds: the outcome is the same.
async fn delete(ctx: &mut Ctx, rtype: &str, id: &str) -> Result<FhirResponse, ApiError> {
    ctx.note("delete", format!("{rtype}/{id}"));
    ctx.negotiated()?;
    let served = served_type(rtype)?;
    check_id(id)?;
    if !may_delete(ctx, served, id).await? {
        return Ok(deleted_response(&DeleteOutcome::Nothing));
    }
    let audit = ctx.audit_in_write("delete", format!("{rtype}/{id}"), None);
    let outcome = WritePath {
        store: &ctx.state.store,
        tenant: ctx.tenant(),
        base_url: ctx.base(),
        audit: Some(&audit),
    }
    .delete(served, id)
    .await?;
    if matches!(outcome, DeleteOutcome::Deleted { .. }) {
        ctx.audited_in_write();
    }
    Ok(deleted_response(&outcome))
}

/// The token's permission to delete, and whether `id` is within its reach: outside it is
/// as if not there, nothing to delete.
pub async fn may_delete(ctx: &Ctx, served: ServedType, id: &str) -> Result<bool, ApiError> {
    let reach = ctx.authorize(served, Permission::Delete)?;
    ctx.stored_within(served, id, &reach).await
}

/// `204`, with the deletion's version as ETag when something was deleted.
pub fn deleted_response(outcome: &DeleteOutcome) -> FhirResponse {
    let response = FhirResponse::new(StatusCode::NO_CONTENT, None);
    match outcome {
        DeleteOutcome::Deleted { version } => response.header(header::ETAG, etag(*version)),
        DeleteOutcome::Nothing => response,
    }
}
