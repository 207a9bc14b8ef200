//! `GET AuditEvent` and `GET AuditEvent/{id}`: the access log, read-only. A patient-context
//! token sees the rows about its own patient (innsynslogg), by names and roles; a
//! `system/` token of the tenant (its auditor) sees every row of the tenant and searches by
//! patient, agent, date and action. The log is never written through FHIR: other methods
//! get `405`.

use axum::extract::Path;
use axum::http::StatusCode;

use crate::audit::render::{to_fhir, Names, View};
use crate::auth::access::Reach;
use crate::auth::scopes::Permission;
use crate::fhir::bundle::{raw, url_with, Bundle, Entry, Link};
use crate::fhir::error::ApiError;
use crate::fhir::format::{FhirResponse, Rendered};
use crate::fhir::search::params::{DEFAULT_COUNT, MAX_COUNT};
use crate::fhir::{check_id, Ctx};
use crate::store::audit::AuditQuery;

const TYPE: &str = "AuditEvent";

pub async fn search(mut ctx: Ctx) -> Rendered {
    ctx.note("search-type", TYPE);
    let result = search_log(&mut ctx).await;
    ctx.render(result)
}

pub async fn read(mut ctx: Ctx, Path(id): Path<String>) -> Rendered {
    ctx.note("read", format!("{TYPE}/{id}"));
    let result = read_one(&mut ctx, &id).await;
    ctx.render(result)
}

/// What the token reaches of the log, and how it sees it.
fn reach(ctx: &Ctx, permission: Permission) -> Result<(Reach, View), ApiError> {
    let access = ctx.access()?;
    let reach = access.reach(TYPE, permission).ok_or_else(|| {
        ApiError::Forbidden("the access token grants no access to the access log".into())
    })?;
    let view = if reach.everything() {
        View::Auditor
    } else {
        View::Patient
    };
    Ok((reach, view))
}

/// The patients the reach confines to (`Patient/ID` values, comma-separated).
fn reach_patients(reach: &Reach) -> Option<Vec<String>> {
    reach
        .only
        .iter()
        .find(|(param, _)| param == "patient")
        .map(|(_, v)| {
            v.split(',')
                .map(|p| p.trim_start_matches("Patient/").to_string())
                .collect()
        })
}

async fn read_one(ctx: &mut Ctx, id: &str) -> Result<FhirResponse, ApiError> {
    ctx.negotiated()?;
    check_id(id)?;
    let (reach, view) = reach(ctx, Permission::Read)?;
    let query = AuditQuery {
        tenant_id: ctx.tenant().id.clone(),
        patients: reach_patients(&reach),
        id: Some(id.to_string()),
        limit: 1,
        ..Default::default()
    };
    let store = &ctx.state.store;
    let row = store
        .search_audit(&query)
        .await?
        .pop()
        .ok_or_else(|| ApiError::NotFound(format!("{TYPE}/{id}")))?;
    for p in &row.record.patients {
        ctx.note_patient(Some(p.clone()));
    }
    let mut names = Names::new(store, &ctx.tenant().id);
    let event = to_fhir(&row, view, &mut names).await?;
    Ok(FhirResponse::new(StatusCode::OK, Some(event.to_string())))
}

async fn search_log(ctx: &mut Ctx) -> Result<FhirResponse, ApiError> {
    ctx.negotiated()?;
    let (reach, view) = reach(ctx, Permission::Search)?;
    let mut query = AuditQuery {
        tenant_id: ctx.tenant().id.clone(),
        patients: reach_patients(&reach),
        limit: DEFAULT_COUNT as i64,
        ..Default::default()
    };
    let mut applied = Vec::new();
    let mut names_asked = Vec::new();
    for (k, v) in &ctx.query {
        let values = || v.split(',').map(str::to_string).collect::<Vec<_>>();
        match k.as_str() {
            "patient" => {
                let asked: Vec<String> = values()
                    .into_iter()
                    .map(|p| p.trim_start_matches("Patient/").to_string())
                    .collect();
                // Within the reach only: another patient's log is as empty as no log.
                query.patients = Some(match query.patients.take() {
                    Some(allowed) => asked.into_iter().filter(|p| allowed.contains(p)).collect(),
                    None => asked,
                });
            }
            "agent" => query.agents = Some(values()),
            "action" => {
                let actions = values();
                if let Some(bad) = actions
                    .iter()
                    .find(|a| !matches!(a.as_str(), "C" | "R" | "U" | "D" | "E"))
                {
                    return Err(ApiError::bad_request(format!(
                        "action '{bad}' is not one of C, R, U, D, E"
                    )));
                }
                query.actions = Some(actions);
            }
            "date" => {
                let (prefix, value) = split_prefix(v);
                let range = helsebro_mappings::dates::parse_range(value).ok_or_else(|| {
                    ApiError::bad_request(format!("date '{v}' is not a date or instant"))
                })?;
                // The range is inclusive; `until` is exclusive.
                match prefix {
                    "ge" => query.since = max(query.since, range.low),
                    "gt" => query.since = max(query.since, range.high + 1),
                    "le" => query.until = min(query.until, range.high + 1),
                    "lt" => query.until = min(query.until, range.low),
                    "eq" => {
                        query.since = max(query.since, range.low);
                        query.until = min(query.until, range.high + 1);
                    }
                    other => {
                        return Err(ApiError::bad_request(format!(
                            "date prefix '{other}' is not supported on AuditEvent (use eq, ge, gt, le, lt)"
                        )))
                    }
                }
            }
            "_count" => {
                let n: usize = v
                    .parse()
                    .map_err(|_| ApiError::bad_request(format!("_count '{v}' is not a number")))?;
                query.limit = n.min(MAX_COUNT) as i64;
            }
            "_cursor" => {
                query.before_seq = Some(v.parse().map_err(|_| {
                    ApiError::bad_request("_cursor is not a valid paging position")
                })?);
                continue;
            }
            "_format" | "_pretty" => continue,
            other if ctx.strict_handling() => {
                return Err(ApiError::bad_request(format!(
                    "'{other}' is not a search parameter of AuditEvent"
                )))
            }
            _ => continue,
        }
        names_asked.push(k.clone());
        applied.push((k.clone(), v.clone()));
    }
    let store = &ctx.state.store;
    let total = store.count_audit(&query).await?;
    let limit = query.limit;
    query.limit = limit + 1;
    let mut rows = store.search_audit(&query).await?;
    let has_next = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    let path = format!("{}/{TYPE}", ctx.base());
    let mut bundle = Bundle::new("searchset");
    bundle.total = Some(total);
    bundle.link.push(Link {
        relation: "self",
        url: url_with(&path, &applied),
    });
    if let (true, Some(last)) = (has_next, rows.last()) {
        let mut next = applied.clone();
        next.push(("_cursor".into(), last.seq.to_string()));
        bundle.link.push(Link {
            relation: "next",
            url: url_with(&path, &next),
        });
    }
    let mut names = Names::new(store, &ctx.tenant().id);
    for row in &rows {
        for p in &row.record.patients {
            ctx.note_patient(Some(p.clone()));
        }
        let event = to_fhir(row, view, &mut names).await?;
        bundle.entry.push(Entry {
            full_url: Some(format!("{path}/{}", row.record.id)),
            resource: Some(raw(event.to_string())),
            search: Some(serde_json::json!({"mode": "match"})),
            ..Default::default()
        });
    }
    ctx.note("search-type", format!("{TYPE}?{}", names_asked.join(",")));
    Ok(FhirResponse::new(StatusCode::OK, Some(bundle.to_json())))
}

fn split_prefix(v: &str) -> (&str, &str) {
    match v.get(..2) {
        Some(p) if p.chars().all(|c| c.is_ascii_lowercase()) => (p, &v[2..]),
        _ => ("eq", v),
    }
}

fn max(a: Option<i64>, b: i64) -> Option<i64> {
    Some(a.map_or(b, |a| a.max(b)))
}

fn min(a: Option<i64>, b: i64) -> Option<i64> {
    Some(a.map_or(b, |a| a.min(b)))
}
