//! The receive side of the JFT contract (Journalføringstjenesten): a sender posts a FHIR
//! document Bundle and follows its `$status`; the municipality's EHR reads what arrived and
//! acknowledges journaling. Two Helsebro instances exchange documents through it, and the
//! delivery connectors are tested against it over real HTTP.
//!
//! Access is by `system/` tokens of the receiving tenant: `Bundle.c` to send (and follow
//! one's own documents), `Bundle.rs` for the EHR to read, `Bundle.u` to acknowledge.

pub mod ehr;
pub mod receive;
pub mod status;

use axum::routing::{get, post};
use axum::Router;

use crate::auth::scopes::{Context, Grant, Permission};
use crate::fhir::error::ApiError;
use crate::fhir::{AppState, Ctx};

/// JFT's size limit for a document.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/Bundle", post(receive::handle).get(ehr::list))
        .route("/Bundle/{id}", get(ehr::read))
        .route("/Bundle/{id}/$status", get(status::handle))
        .route(
            "/Bundle/{id}/$journaling-acknowledged",
            post(ehr::acknowledge),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::audit::layer::log_request,
        ))
        .with_state(state)
}

/// Whether the token's system/ scopes grant `permission` on Bundle.
pub fn granted(ctx: &Ctx, permission: Permission) -> Result<bool, ApiError> {
    let access = ctx.access()?;
    Ok(matches!(
        access.scopes.grant(Context::System, "Bundle", permission),
        Grant::All
    ))
}

/// `granted`, or `403`.
pub fn require(ctx: &Ctx, permission: Permission, what: &str) -> Result<(), ApiError> {
    if granted(ctx, permission)? {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "{what} needs a system/ token with Bundle.{}",
            permission.letter()
        )))
    }
}

/// Where a received document is read.
pub fn location(ctx: &Ctx, id: &str) -> String {
    format!("{}/jft/v1/Bundle/{id}", ctx.state.config.origin())
}
