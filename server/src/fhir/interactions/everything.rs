//! `GET Patient/{id}/$everything`: the right of access and portability (GDPR art. 15 and
//! 20, pasient- og brukerrettighetsloven ch. 5). The patient and every resource of their
//! compartment the token may see, type by type, paged, with `_since` and `_type`. A
//! patient-context token runs it on its own record.

use axum::extract::Path;
use axum::http::StatusCode;
use serde_json::json;

use crate::auth::scopes::Permission;
use crate::fhir::bundle::{raw, url_with, Bundle, Entry, Link};
use crate::fhir::error::ApiError;
use crate::fhir::format::{FhirResponse, Rendered};
use crate::fhir::search::compile::{self, Scope};
use crate::fhir::search::params::{self, DEFAULT_COUNT, MAX_COUNT};
use crate::fhir::{check_id, Ctx};
use crate::served::ServedType;

/// The patient first, then their records.
const COMPARTMENT: [ServedType; 4] = ServedType::PATIENT_RECORD;

pub async fn handle(mut ctx: Ctx, Path(id): Path<String>) -> Rendered {
    ctx.note("operation", format!("Patient/{id}/$everything"));
    let result = everything(&mut ctx, &id).await;
    ctx.render(result)
}

/// Where a page starts: the type (its place in `COMPARTMENT`) and the last `seq` seen.
fn parse_cursor(v: &str) -> Option<(usize, i64)> {
    let (t, seq) = v.split_once(':')?;
    Some((t.parse().ok()?, seq.parse().ok()?))
}

async fn everything(ctx: &mut Ctx, id: &str) -> Result<FhirResponse, ApiError> {
    ctx.negotiated()?;
    check_id(id)?;
    let reach = ctx.authorize(ServedType::Patient, Permission::Read)?;
    if !ctx.stored_within(ServedType::Patient, id, &reach).await? {
        return Err(ApiError::NotFound(format!("Patient/{id}")));
    }
    ctx.note_patient(Some(id.to_string()));
    let mut count = DEFAULT_COUNT;
    let mut since = None;
    let mut types: Vec<ServedType> = COMPARTMENT.to_vec();
    let mut cursor = (0usize, 0i64);
    let mut applied = Vec::new();
    for (k, v) in &ctx.query {
        match k.as_str() {
            "_count" => {
                count = v
                    .parse::<usize>()
                    .map_err(|_| ApiError::bad_request(format!("_count '{v}' is not a number")))?
                    .clamp(1, MAX_COUNT);
                applied.push((k.clone(), v.clone()));
            }
            "_since" => {
                helsebro_mappings::dates::parse_range(v).ok_or_else(|| {
                    ApiError::bad_request(format!("_since '{v}' is not an instant"))
                })?;
                since = Some(v.clone());
                applied.push((k.clone(), v.clone()));
            }
            "_type" => {
                let mut asked = Vec::new();
                for t in v.split(',') {
                    match COMPARTMENT.iter().find(|s| s.name() == t) {
                        Some(s) => asked.push(*s),
                        None => {
                            return Err(ApiError::bad_request(format!(
                                "_type '{t}' is not a type of the patient's record here"
                            )))
                        }
                    }
                }
                types.retain(|s| asked.contains(s));
                applied.push((k.clone(), v.clone()));
            }
            "_cursor" => {
                cursor = parse_cursor(v).ok_or_else(|| {
                    ApiError::bad_request("_cursor is not a valid paging position")
                })?
            }
            _ => {}
        }
    }
    let hasher = ctx.search_hasher().await?;
    let scope_of = |served: ServedType| Scope {
        tenant_id: &ctx.tenant().id,
        resource_type: served.name(),
        base_url: ctx.base(),
        hasher: &hasher,
    };
    let store = &ctx.state.store;
    let path = format!("{}/Patient/{id}/$everything", ctx.base());
    let mut bundle = Bundle::new("searchset");
    bundle.link.push(Link {
        relation: "self",
        url: url_with(&path, &applied),
    });
    let mut total = 0;
    let mut next: Option<(usize, i64)> = None;
    for (place, served) in COMPARTMENT.iter().enumerate() {
        if !types.contains(served) {
            continue;
        }
        // Types the token does not reach are left out, not refused: the rest is still
        // the patient's.
        let Ok(reach) = ctx.authorize(*served, Permission::Search) else {
            continue;
        };
        let mut pairs = match served {
            ServedType::Patient => vec![("_id".to_string(), id.to_string())],
            _ => vec![("patient".to_string(), format!("Patient/{id}"))],
        };
        if let Some(s) = &since {
            pairs.push(("_lastUpdated".into(), format!("ge{s}")));
        }
        let mut parsed = params::parse(served.def(), &pairs, true)?;
        parsed
            .clauses
            .extend(params::parse(served.def(), &reach.only, true)?.clauses);
        total += store
            .search_count(&compile::count(&scope_of(*served), &parsed))
            .await?;
        let room = count.saturating_sub(bundle.entry.len());
        if place < cursor.0 || next.is_some() {
            continue;
        }
        if room == 0 {
            next = Some((place, 0));
            continue;
        }
        parsed.count = room;
        parsed.cursor = (place == cursor.0 && cursor.1 > 0).then_some(cursor.1);
        let mut rows = store
            .search_page(
                &ctx.tenant().id,
                &compile::page(&scope_of(*served), &parsed),
            )
            .await?;
        if rows.len() > room {
            rows.truncate(room);
            next = rows.last().map(|r| (place, r.seq));
        }
        for row in rows {
            let rid = serde_json::from_str::<serde_json::Value>(&row.json)
                .ok()
                .and_then(|v| v["id"].as_str().map(str::to_string))
                .unwrap_or_default();
            bundle.entry.push(Entry {
                full_url: Some(format!("{}/{}/{rid}", ctx.base(), served.name())),
                resource: Some(raw(row.json)),
                search: Some(json!({"mode": "match"})),
                ..Default::default()
            });
        }
    }
    bundle.total = Some(total);
    if let Some((place, seq)) = next {
        let mut link = applied.clone();
        link.push(("_cursor".into(), format!("{place}:{seq}")));
        bundle.link.push(Link {
            relation: "next",
            url: url_with(&path, &link),
        });
    }
    Ok(FhirResponse::new(StatusCode::OK, Some(bundle.to_json())))
}
