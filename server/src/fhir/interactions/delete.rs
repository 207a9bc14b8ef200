use axum::extract::Path;
use axum::http::{header, StatusCode};

use super::etag;
use crate::auth::scopes::Permission;
use crate::fhir::error::ApiError;
use crate::fhir::format::{FhirResponse, Rendered};
use crate::fhir::{check_id, served_type, Ctx};
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
    // Outside the token's reach is as if not there: nothing to delete.
    let reach = ctx.authorize(served, Permission::Delete)?;
    if !ctx.stored_within(served, id, &reach).await? {
        return Ok(FhirResponse::new(StatusCode::NO_CONTENT, None));
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
    let response = FhirResponse::new(StatusCode::NO_CONTENT, None);
    Ok(match outcome {
        DeleteOutcome::Deleted { version } => response.header(header::ETAG, etag(version)),
        DeleteOutcome::Nothing => response,
    })
}
