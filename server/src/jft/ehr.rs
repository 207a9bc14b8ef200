//! The EHR's side: read the documents that arrived (a searchset by `_lastUpdated`, or one
//! by id; the first read is recorded) and acknowledge that one is journaled.

use axum::extract::Path;
use axum::http::StatusCode;
use serde_json::json;

use super::{location, require};
use crate::auth::scopes::Permission;
use crate::fhir::bundle::{raw, Bundle, Entry, Link};
use crate::fhir::error::ApiError;
use crate::fhir::format::{FhirResponse, Rendered};
use crate::fhir::search::params::{DEFAULT_COUNT, MAX_COUNT};
use crate::fhir::{check_id, Ctx};

pub async fn list(mut ctx: Ctx) -> Rendered {
    ctx.note("search-type", "Bundle");
    let result = list_documents(&mut ctx).await;
    ctx.render(result)
}

pub async fn read(mut ctx: Ctx, Path(id): Path<String>) -> Rendered {
    ctx.note("read", format!("Bundle/{id}"));
    let result = read_document(&mut ctx, &id).await;
    ctx.render(result)
}

pub async fn acknowledge(mut ctx: Ctx, Path(id): Path<String>) -> Rendered {
    ctx.note("operation", format!("Bundle/{id}/$journaling-acknowledged"));
    let result = acknowledge_document(&mut ctx, &id).await;
    ctx.render(result)
}

async fn list_documents(ctx: &mut Ctx) -> Result<FhirResponse, ApiError> {
    ctx.negotiated()?;
    require(ctx, Permission::Search, "reading received documents")?;
    let mut since = 0;
    let mut count = DEFAULT_COUNT;
    for (k, v) in &ctx.query {
        match k.as_str() {
            "_lastUpdated" => {
                let value = v.strip_prefix("ge").unwrap_or(v);
                since = helsebro_mappings::dates::parse_range(value)
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "_lastUpdated '{v}' is not ge and an instant"
                        ))
                    })?
                    .low;
            }
            "_count" => {
                count = v
                    .parse::<usize>()
                    .map_err(|_| ApiError::bad_request(format!("_count '{v}' is not a number")))?
                    .clamp(1, MAX_COUNT);
            }
            _ => {}
        }
    }
    let tenant = ctx.tenant().id.clone();
    let store = &ctx.state.store;
    let docs = store
        .received_documents(&tenant, since, count as i64)
        .await?;
    store
        .mark_received_read(
            &tenant,
            &docs.iter().map(|d| d.id.clone()).collect::<Vec<_>>(),
        )
        .await?;
    let mut bundle = Bundle::new("searchset");
    bundle.total = Some(docs.len() as i64);
    bundle.link.push(Link {
        relation: "self",
        url: format!("{}/jft/v1/Bundle", ctx.state.config.origin()),
    });
    for d in docs {
        bundle.entry.push(Entry {
            full_url: Some(location(ctx, &d.id)),
            resource: Some(raw(d.content)),
            search: Some(json!({"mode": "match"})),
            ..Default::default()
        });
    }
    Ok(FhirResponse::new(StatusCode::OK, Some(bundle.to_json())))
}

async fn read_document(ctx: &mut Ctx, id: &str) -> Result<FhirResponse, ApiError> {
    ctx.negotiated()?;
    check_id(id)?;
    require(ctx, Permission::Read, "reading a received document")?;
    let tenant = ctx.tenant().id.clone();
    let store = &ctx.state.store;
    let doc = store
        .received_document(&tenant, id)
        .await?
        .filter(|d| d.contract != "edi")
        .ok_or_else(|| ApiError::NotFound(format!("Bundle/{id}")))?;
    store
        .mark_received_read(&tenant, std::slice::from_ref(&doc.id))
        .await?;
    Ok(FhirResponse::new(StatusCode::OK, Some(doc.content)))
}

async fn acknowledge_document(ctx: &mut Ctx, id: &str) -> Result<FhirResponse, ApiError> {
    ctx.negotiated()?;
    check_id(id)?;
    require(ctx, Permission::Update, "acknowledging journaling")?;
    let tenant = ctx.tenant().id.clone();
    if !ctx.state.store.acknowledge_journaling(&tenant, id).await? {
        return Err(ApiError::NotFound(format!("Bundle/{id}")));
    }
    let outcome = json!({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "information", "code": "informational",
                   "diagnostics": format!("Bundle/{id} is journaled")}]
    });
    Ok(FhirResponse::new(StatusCode::OK, Some(outcome.to_string())))
}
