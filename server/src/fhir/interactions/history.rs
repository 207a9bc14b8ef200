//! Instance, type and system history: `history` Bundles, newest first, paged by position.

use axum::extract::Path;
use axum::http::StatusCode;
use serde_json::json;

use super::etag;
use crate::auth::scopes::Permission;
use crate::fhir::bundle::{raw, url_with, Bundle, Entry, Link};
use crate::fhir::error::ApiError;
use crate::fhir::format::{FhirResponse, Rendered};
use crate::fhir::search::params::{DEFAULT_COUNT, MAX_COUNT};
use crate::fhir::{check_id, served_type, Ctx};
use crate::served::ServedType;
use crate::store::history::HistoryQuery;

pub async fn system(mut ctx: Ctx) -> Rendered {
    let result = history(&mut ctx, None, None).await;
    ctx.render(result)
}

pub async fn type_level(mut ctx: Ctx, Path(rtype): Path<String>) -> Rendered {
    let result = history(&mut ctx, Some(rtype), None).await;
    ctx.render(result)
}

pub async fn instance(mut ctx: Ctx, Path((rtype, id)): Path<(String, String)>) -> Rendered {
    let result = history(&mut ctx, Some(rtype), Some(id)).await;
    ctx.render(result)
}

async fn history(
    ctx: &mut Ctx,
    rtype: Option<String>,
    id: Option<String>,
) -> Result<FhirResponse, ApiError> {
    let (subtype, entity) = match (&rtype, &id) {
        (Some(t), Some(i)) => ("history-instance", format!("{t}/{i}/_history")),
        (Some(t), None) => ("history-type", format!("{t}/_history")),
        _ => ("history-system", "_history".to_string()),
    };
    ctx.note(subtype, entity);
    ctx.negotiated()?;
    let types = match &rtype {
        Some(t) => vec![served_type(t)?],
        None => ServedType::ALL.to_vec(),
    };
    if let Some(id) = &id {
        check_id(id)?;
    }
    for served in types {
        let reach = ctx.authorize(served, Permission::Read)?;
        let within = match &id {
            Some(id) => ctx.stored_within(served, id, &reach).await?,
            None => reach.everything(),
        };
        if !within && id.is_some() {
            return Err(ApiError::NotFound(format!(
                "{}/{}",
                served.name(),
                id.as_deref().unwrap_or_default()
            )));
        }
        if !within {
            return Err(ApiError::Forbidden(format!(
                "the history of all {} needs a token that reaches all of them",
                served.name()
            )));
        }
    }
    let mut count = DEFAULT_COUNT;
    let mut query = HistoryQuery {
        tenant_id: &ctx.tenant().id,
        resource_type: rtype.as_deref(),
        id: id.as_deref(),
        ..Default::default()
    };
    let mut applied = Vec::new();
    for (k, v) in &ctx.query {
        match k.as_str() {
            "_count" => {
                count = v
                    .parse::<usize>()
                    .map_err(|_| ApiError::bad_request(format!("_count '{v}' is not a number")))?
                    .min(MAX_COUNT);
                applied.push((k.clone(), v.clone()));
            }
            "_since" => {
                let range = helsebro_mappings::dates::parse_range(v).ok_or_else(|| {
                    ApiError::bad_request(format!("_since '{v}' is not an instant"))
                })?;
                query.since = Some(range.low);
                applied.push((k.clone(), v.clone()));
            }
            "_at" => {
                let range = helsebro_mappings::dates::parse_range(v).ok_or_else(|| {
                    ApiError::bad_request(format!("_at '{v}' is not a date or instant"))
                })?;
                query.at = Some((range.low, range.high));
                applied.push((k.clone(), v.clone()));
            }
            "_cursor" => {
                query.before_seq =
                    Some(v.parse().map_err(|_| {
                        ApiError::bad_request("_cursor is not a valid paging position")
                    })?)
            }
            _ => {}
        }
    }
    let store = &ctx.state.store;
    let total = store.history_total(&query).await?;
    let mut entries = store.history(&query, count as i64 + 1).await?;
    let has_next = entries.len() > count;
    entries.truncate(count);
    // Filters (`_since`, `_at`) may leave an existing resource without versions: that is
    // an empty history, not an unknown resource.
    let unknown = total == 0
        && (query.since.is_none() && query.at.is_none()
            || store
                .history_total(&HistoryQuery {
                    since: None,
                    at: None,
                    ..query.clone()
                })
                .await?
                == 0);
    if let (Some(id), true) = (&id, unknown) {
        return Err(ApiError::NotFound(format!(
            "{}/{id}",
            rtype.unwrap_or_default()
        )));
    }
    let mut path = ctx.base().to_string();
    if let Some(t) = &rtype {
        path.push('/');
        path.push_str(t);
    }
    if let Some(i) = &id {
        path.push('/');
        path.push_str(i);
    }
    path.push_str("/_history");
    let mut bundle = Bundle::new("history");
    bundle.total = Some(total);
    bundle.link.push(Link {
        relation: "self",
        url: url_with(&path, &applied),
    });
    if let (true, Some(last)) = (has_next, entries.last()) {
        let mut next = applied.clone();
        next.push(("_cursor".into(), last.version.seq.to_string()));
        bundle.link.push(Link {
            relation: "next",
            url: url_with(&path, &next),
        });
    }
    for e in entries {
        let v = e.version;
        if let (Some(served), Some(json)) = (ServedType::from_name(&v.resource_type), &v.json) {
            ctx.note_patient(crate::audit::patients::patient_of_json(served, json));
        }
        let request_url = match e.method.as_str() {
            "POST" => v.resource_type.clone(),
            _ => format!("{}/{}", v.resource_type, v.id),
        };
        let status = match (e.method.as_str(), e.created) {
            ("DELETE", _) => "204 No Content",
            (_, true) => "201 Created",
            _ => "200 OK",
        };
        bundle.entry.push(Entry {
            full_url: Some(format!("{}/{}/{}", ctx.base(), v.resource_type, v.id)),
            resource: v.json.map(raw),
            request: Some(json!({"method": e.method, "url": request_url})),
            response: Some(json!({
                "status": status,
                "etag": etag(v.version),
                "lastModified": helsebro_mappings::dates::format_instant(v.last_updated)
            })),
            ..Default::default()
        });
    }
    Ok(FhirResponse::new(StatusCode::OK, Some(bundle.to_json())))
}
