//! `POST Patient/{id}/$erase`: erasure on the controller's request, for the tenant's
//! administrator (a token whose system/ scopes may delete the whole record). Nothing of
//! the patient's records, versions or index rows remains; the access log keeps the row of
//! the erasure, without content.

use axum::extract::Path;
use axum::http::StatusCode;
use serde_json::json;

use crate::auth::scopes::Permission;
use crate::fhir::error::ApiError;
use crate::fhir::format::{FhirResponse, Rendered};
use crate::fhir::{check_id, Ctx};
use crate::served::ServedType;

pub async fn handle(mut ctx: Ctx, Path(id): Path<String>) -> Rendered {
    ctx.note("operation", format!("Patient/{id}/$erase"));
    let result = erase(&mut ctx, &id).await;
    ctx.render(result)
}

async fn erase(ctx: &mut Ctx, id: &str) -> Result<FhirResponse, ApiError> {
    ctx.negotiated()?;
    check_id(id)?;
    for served in ServedType::PATIENT_RECORD {
        if !ctx.authorize(served, Permission::Delete)?.everything() {
            return Err(ApiError::Forbidden(
                "erasure is for the tenant's administrator: system/ scopes that delete the \
                 whole record"
                    .into(),
            ));
        }
    }
    let audit = ctx.audit_in_write(
        "operation",
        format!("Patient/{id}/$erase"),
        Some(id.to_string()),
    );
    let erased = ctx
        .state
        .store
        .erase_patient(&ctx.tenant().id, id, &audit)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Patient/{id}")))?;
    ctx.audited_in_write();
    let outcome = json!({
        "resourceType": "OperationOutcome",
        "issue": [{
            "severity": "information",
            "code": "informational",
            "diagnostics": format!(
                "Patient/{id} erased: {} resources and {} versions removed",
                erased.resources, erased.versions
            )
        }]
    });
    Ok(FhirResponse::new(StatusCode::OK, Some(outcome.to_string())))
}
