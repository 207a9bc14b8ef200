//! The logging layer around `/fhir`. Every request but the capability documents leaves a
//! row: the handler's note says what it touched; a write has logged itself in its own
//! transaction. The response waits for the row; if it cannot be written, the client gets
//! `503` and none of the data.

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use super::{outcome_of, record, AuditNote};
use crate::fhir::error::ApiError;
use crate::fhir::format::{render_error, Format};
use crate::fhir::AppState;

pub async fn log_request(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    if path.ends_with("/metadata") || path.contains("/.well-known/") {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let mut response = next.run(request).await;
    let note = response
        .extensions_mut()
        .remove::<AuditNote>()
        .unwrap_or_default();
    let status = response.status().as_u16();
    if note.recorded && response.status().is_success() {
        return response;
    }
    let subtype = match method {
        Method::POST => "create",
        Method::PUT => "update",
        Method::DELETE => "delete",
        _ => "read",
    };
    // Without a note (a path no handler took), the path names the entity; never the query.
    let p = path.trim_start_matches("/fhir").trim_matches('/');
    let row = row_of(
        &note,
        status,
        subtype,
        (!p.is_empty()).then(|| p.to_string()),
    );
    match state.audit.append(row).await {
        Ok(()) => response,
        Err(e) => {
            tracing::error!(error = %e, "request refused: its access log row was not written");
            render_error(
                ApiError::Unavailable(
                    "the access log cannot be written just now, so nothing is returned; try again"
                        .into(),
                ),
                Format::Json,
            )
        }
    }
}

/// The row of a request (or of a Bundle entry) from its note; `subtype` and `entity` stand
/// where the note names none.
pub fn row_of(
    note: &AuditNote,
    status: u16,
    subtype: &'static str,
    entity: Option<String>,
) -> crate::store::audit::AuditRecord {
    record(
        &note.agent,
        "rest",
        note.subtype.unwrap_or(subtype),
        outcome_of(status),
        (status >= 400).then(|| status.to_string()),
        note.entity.clone().or(entity),
        note.patients.clone(),
    )
}
