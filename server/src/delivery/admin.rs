//! The operators' view of the delivery register: `GET /admin/deliveries` (JSON, or a
//! simple page for `Accept: text/html`), one delivery by id, and `$retry` for a failed
//! one. Metadata only: the register never shows a document's content. Access is by the
//! tenant's `system/` tokens: `Bundle.rs` to look, `Bundle.u` to retry.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use helsebro_mappings::dates::format_instant;
use maud::{html, Markup};
use serde_json::{json, Value};

use super::documents::{build, DocumentRequest};
use super::{DeliveryError, DocumentKind};
use crate::auth::scopes::Permission;
use crate::fhir::error::ApiError;
use crate::fhir::format::{FhirResponse, Rendered};
use crate::fhir::{check_id, AppState, Ctx};
use crate::jft::require;
use crate::store::deliveries::{Delivery, DeliveryQuery, DeliveryState};
use crate::store::Store;

const DEFAULT_COUNT: i64 = 100;
const MAX_COUNT: i64 = 1000;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/deliveries", get(list))
        .route("/deliveries/{id}", get(read))
        .route("/deliveries/{id}/$retry", post(retry_handler))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::audit::layer::log_request,
        ))
        .with_state(state)
}

/// Puts a failed delivery back in the queue, its document rebuilt from the records
/// under the same identifier. `false` if there is no failed delivery by that id.
pub async fn retry(store: &Store, tenant_id: &str, id: &str) -> Result<bool, DeliveryError> {
    let Some(d) = store.delivery(tenant_id, id).await? else {
        return Ok(false);
    };
    if d.state != DeliveryState::Failed {
        return Ok(false);
    }
    let route = store
        .delivery_route(tenant_id, Some(&d.municipality_code))
        .await?
        .filter(|r| r.connector == d.connector)
        .ok_or_else(|| DeliveryError::NoRoute(d.municipality_code.clone()))?;
    let kind = DocumentKind::parse(&d.kind)
        .ok_or_else(|| DeliveryError::Source(format!("unknown kind {}", d.kind)))?;
    let content = build(
        store,
        &DocumentRequest {
            tenant_id,
            kind,
            source_id: &d.source_id,
            patient_id: &d.patient_id,
            document_id: &d.document_id,
            created: d.queued_at,
            route: &route,
        },
    )
    .await?;
    Ok(store
        .requeue_delivery(tenant_id, id, &route, &content)
        .await?)
}

fn at(t: Option<i64>) -> Value {
    t.map_or(Value::Null, |t| json!(format_instant(t)))
}

/// A delivery as the register shows it.
pub fn to_json(d: &Delivery) -> Value {
    json!({
        "id": d.id,
        "kind": d.kind,
        "documentId": d.document_id,
        "patient": format!("Patient/{}", d.patient_id),
        "connector": d.connector,
        "receiver": {"organisationNumber": d.receiver_org, "herId": d.receiver_her_id},
        "sha256": d.sha256,
        "size": d.size,
        "state": d.state.name(),
        "attempts": d.attempts,
        "nextAttempt": if d.final_at.is_none() { at(Some(d.next_attempt_at)) } else { Value::Null },
        "remoteId": d.remote_id,
        "remoteStatus": d.remote_status,
        "error": d.error_code.as_ref().map(|c| json!({"code": c, "text": d.error_text})),
        "queued": at(Some(d.queued_at)),
        "sent": at(d.sent_at),
        "registered": at(d.registered_at),
        "read": at(d.read_at),
        "journaled": at(d.journaled_at),
        "failed": at(d.failed_at),
        "final": at(d.final_at),
        "holdsContent": d.holds_content,
    })
}

async fn list(mut ctx: Ctx) -> Rendered {
    ctx.note("search-type", "DocumentDelivery?state,patient,_count");
    let result = list_deliveries(&mut ctx).await;
    ctx.render(result)
}

async fn list_deliveries(ctx: &mut Ctx) -> Result<FhirResponse, ApiError> {
    require(ctx, Permission::Search, "reading the delivery register")?;
    let mut q = DeliveryQuery {
        tenant_id: ctx.tenant().id.clone(),
        limit: DEFAULT_COUNT,
        ..Default::default()
    };
    for (k, v) in &ctx.query {
        match k.as_str() {
            "state" => {
                q.state = Some(DeliveryState::parse(v).ok_or_else(|| {
                    ApiError::bad_request(format!("state '{v}' is not a delivery state"))
                })?)
            }
            "patient" => q.patient_id = Some(v.trim_start_matches("Patient/").to_string()),
            "_count" => {
                q.limit = v
                    .parse::<i64>()
                    .map_err(|_| ApiError::bad_request(format!("_count '{v}' is not a number")))?
                    .clamp(1, MAX_COUNT)
            }
            _ => {}
        }
    }
    let rows = ctx.state.store.deliveries(&q).await?;
    let wants_html = ctx
        .header(header::ACCEPT)
        .is_some_and(|a| a.contains("text/html"));
    if wants_html {
        let page = page(&rows).into_string();
        return Ok(FhirResponse::new(StatusCode::OK, Some(page))
            .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
            .header(header::CACHE_CONTROL, "no-store")
            .header(header::CONTENT_SECURITY_POLICY, "default-src 'none'")
            .header(header::X_FRAME_OPTIONS, "DENY")
            .header(header::REFERRER_POLICY, "no-referrer"));
    }
    let body = json!({"deliveries": rows.iter().map(to_json).collect::<Vec<_>>()});
    Ok(FhirResponse::new(StatusCode::OK, Some(body.to_string()))
        .header(header::CONTENT_TYPE, "application/json"))
}

async fn read(mut ctx: Ctx, Path(id): Path<String>) -> Rendered {
    ctx.note("read", format!("DocumentDelivery/{id}"));
    let result = read_delivery(&mut ctx, &id).await;
    ctx.render(result)
}

async fn read_delivery(ctx: &mut Ctx, id: &str) -> Result<FhirResponse, ApiError> {
    check_id(id)?;
    require(ctx, Permission::Read, "reading the delivery register")?;
    let d = ctx
        .state
        .store
        .delivery(&ctx.tenant().id, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("delivery {id}")))?;
    Ok(
        FhirResponse::new(StatusCode::OK, Some(to_json(&d).to_string()))
            .header(header::CONTENT_TYPE, "application/json"),
    )
}

async fn retry_handler(mut ctx: Ctx, Path(id): Path<String>) -> Rendered {
    ctx.note("operation", format!("DocumentDelivery/{id}/$retry"));
    let result = retry_delivery(&mut ctx, &id).await;
    ctx.render(result)
}

async fn retry_delivery(ctx: &mut Ctx, id: &str) -> Result<FhirResponse, ApiError> {
    check_id(id)?;
    require(ctx, Permission::Update, "retrying a delivery")?;
    let tenant = ctx.tenant().id.clone();
    match retry(&ctx.state.store, &tenant, id).await {
        Ok(true) => {}
        Ok(false) => {
            return Err(ApiError::Conflict(format!(
                "delivery {id} is not a failed delivery of this tenant"
            )))
        }
        Err(DeliveryError::Store(e)) => return Err(e.into()),
        Err(e) => return Err(ApiError::Conflict(e.to_string())),
    }
    let d = ctx
        .state
        .store
        .delivery(&tenant, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("delivery {id}")))?;
    Ok(
        FhirResponse::new(StatusCode::OK, Some(to_json(&d).to_string()))
            .header(header::CONTENT_TYPE, "application/json"),
    )
}

fn page(rows: &[Delivery]) -> Markup {
    let time = |t: Option<i64>| t.map(format_instant).unwrap_or_default();
    html! {
        (maud::DOCTYPE)
        html lang="nb" {
            head {
                meta charset="utf-8";
                title { "Dokumentsendinger – Helsebro" }
            }
            body {
                main {
                    h1 { "Dokumentsendinger " span lang="en" { "(Document deliveries)" } }
                    p { "Registeret viser at et dokument ble sendt, ikke innholdet. "
                        span lang="en" { "The register shows that a document was sent, not its content." } }
                    table {
                        caption { "Nyeste først " span lang="en" { "(newest first)" } }
                        thead { tr {
                            th scope="col" { "Status" }
                            th scope="col" { "Type" }
                            th scope="col" { "Mottaker" }
                            th scope="col" { "Kanal" }
                            th scope="col" { "Forsøk" }
                            th scope="col" { "Køet" }
                            th scope="col" { "Sendt" }
                            th scope="col" { "Journalført" }
                            th scope="col" { "Feil" }
                        } }
                        tbody {
                            @for d in rows {
                                tr {
                                    td { (d.state.name()) }
                                    td { (d.kind) }
                                    td { (d.receiver_org) }
                                    td { (d.connector) }
                                    td { (d.attempts) }
                                    td { (time(Some(d.queued_at))) }
                                    td { (time(d.sent_at)) }
                                    td { (time(d.journaled_at)) }
                                    td { (d.error_code.clone().unwrap_or_default()) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
