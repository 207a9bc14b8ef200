//! `GET /jft/v1/Bundle/{id}/$status`: when the document was registered, read by the EHR and
//! journaled. For its sender, and for the tenant's readers.

use axum::extract::Path;
use axum::http::StatusCode;
use helsebro_mappings::dates::format_instant;
use serde_json::json;

use super::granted;
use crate::auth::scopes::Permission;
use crate::fhir::error::ApiError;
use crate::fhir::format::{FhirResponse, Rendered};
use crate::fhir::{check_id, Ctx};

pub async fn handle(mut ctx: Ctx, Path(id): Path<String>) -> Rendered {
    ctx.note("read", format!("Bundle/{id}/$status"));
    let result = status(&mut ctx, &id).await;
    ctx.render(result)
}

async fn status(ctx: &mut Ctx, id: &str) -> Result<FhirResponse, ApiError> {
    ctx.negotiated()?;
    check_id(id)?;
    let access = ctx.access()?;
    let not_found = || ApiError::NotFound(format!("Bundle/{id}"));
    let doc = ctx
        .state
        .store
        .received_document(&access.tenant.id, id)
        .await?
        .filter(|d| d.contract != "edi")
        .ok_or_else(not_found)?;
    // Another sender's document is as unknown as none.
    if doc.sender != access.client_id && !granted(ctx, Permission::Read)? {
        return Err(not_found());
    }
    let at = |t: Option<i64>| t.map(format_instant);
    let body = json!({
        "id": doc.id,
        "registered": format_instant(doc.registered_at),
        "read": at(doc.read_at),
        "journaled": at(doc.journaled_at),
        "failed": null
    });
    Ok(FhirResponse::new(StatusCode::OK, Some(body.to_string())))
}
