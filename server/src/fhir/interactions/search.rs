//! Type-level search by `GET [type]?…` and `POST [type]/_search` (form body), the latter
//! keeping identifiers such as national identity numbers out of URLs and logs.

use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use serde_json::{json, Map, Value};

use crate::auth::scopes::Permission;
use crate::fhir::bundle::{raw, url_with, Bundle, Entry, Link};
use crate::fhir::error::ApiError;
use crate::fhir::format::{FhirResponse, Rendered};
use crate::fhir::search::compile::{self, Scope};
use crate::fhir::search::params::{self, ParsedSearch, Summary, Total};
use crate::fhir::{served_type, Ctx};

pub async fn get(mut ctx: Ctx, Path(rtype): Path<String>) -> Rendered {
    let result = search_type(&mut ctx, &rtype).await;
    ctx.render(result)
}

/// `GET [type]?…` with the parameters of `ctx.query` (a request's, or a Bundle entry's).
pub async fn search_type(ctx: &mut Ctx, rtype: &str) -> Result<FhirResponse, ApiError> {
    ctx.note("search-type", rtype.to_string());
    ctx.negotiated()?;
    ctx.authorize(served_type(rtype)?, Permission::Search)?;
    let pairs = resolve_saved(ctx, rtype).await?;
    search(ctx, rtype, &pairs, None).await
}

pub async fn post(mut ctx: Ctx, Path(rtype): Path<String>, body: Body) -> Rendered {
    ctx.note("search-type", rtype.clone());
    let result = async {
        ctx.negotiated()?;
        ctx.authorize(served_type(&rtype)?, Permission::Search)?;
        let form = ctx
            .header(header::CONTENT_TYPE)
            .map(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        let bytes = ctx.body(body).await?;
        if form == Some(false) || (form.is_none() && !bytes.is_empty()) {
            return Err(ApiError::UnsupportedMediaType(
                "POST _search takes an application/x-www-form-urlencoded body".into(),
            ));
        }
        let mut pairs = ctx.query.clone();
        pairs.extend(form_urlencoded::parse(&bytes).into_owned());
        let served = served_type(&rtype)?;
        let filters: Vec<(String, String)> = pairs
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "_count" | "_cursor" | "_format" | "_pretty"))
            .cloned()
            .collect();
        let handle = ctx
            .state
            .store
            .save_search(&ctx.tenant().id, served.name(), &filters)
            .await?;
        search(&ctx, &rtype, &pairs, Some(handle)).await
    }
    .await;
    ctx.render(result)
}

/// `_page=handle` continues a POST search: its parameters come from the server, the
/// request adds only paging (`_cursor`, `_count`) and formatting.
async fn resolve_saved(ctx: &Ctx, rtype: &str) -> Result<Vec<(String, String)>, ApiError> {
    let Some((_, handle)) = ctx.query.iter().find(|(k, _)| k == "_page") else {
        return Ok(ctx.query.clone());
    };
    let served = served_type(rtype)?;
    let mut pairs = ctx
        .state
        .store
        .saved_search(&ctx.tenant().id, served.name(), handle)
        .await?
        .ok_or_else(|| ApiError::Gone("this paging link (it expires after 24 hours)".into()))?;
    pairs.extend(ctx.query.iter().filter(|(k, _)| k != "_page").cloned());
    Ok(pairs)
}

async fn search(
    ctx: &Ctx,
    rtype: &str,
    pairs: &[(String, String)],
    saved: Option<String>,
) -> Result<FhirResponse, ApiError> {
    // Parameter names only: values (a national identity number) stay out of the log.
    let mut names: Vec<&str> = pairs
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !matches!(*k, "_format" | "_pretty" | "_cursor" | "_page"))
        .collect();
    names.dedup();
    ctx.note("search-type", format!("{rtype}?{}", names.join(",")));
    let served = served_type(rtype)?;
    let reach = ctx.authorize(served, Permission::Search)?;
    let mut parsed = params::parse(served.def(), pairs, ctx.strict_handling())?;
    // What the token reaches narrows every search, so that a search outside it finds
    // nothing rather than failing.
    parsed
        .clauses
        .extend(params::parse(served.def(), &reach.only, true)?.clauses);
    let hasher = ctx.search_hasher().await?;
    let scope = Scope {
        tenant_id: &ctx.tenant().id,
        resource_type: served.name(),
        base_url: ctx.base(),
        hasher: &hasher,
    };
    let store = &ctx.state.store;
    let path = format!("{}/{rtype}", ctx.base());
    let mut bundle = Bundle::new("searchset");
    // POSTed parameters stay out of links: those carry the saved search's handle instead.
    let link_params: Vec<(String, String)> =
        match (&saved, ctx.query.iter().find(|(k, _)| k == "_page")) {
            (Some(handle), _) | (None, Some((_, handle))) => {
                let mut p = vec![("_page".to_string(), handle.clone())];
                p.extend(
                    parsed
                        .applied
                        .iter()
                        .filter(|(k, _)| k == "_count")
                        .cloned(),
                );
                p
            }
            (None, None) => parsed.applied.clone(),
        };
    bundle.link.push(Link {
        relation: "self",
        url: url_with(&path, &link_params),
    });
    let want_total = parsed.total == Total::Accurate || parsed.summary == Some(Summary::Count);
    if want_total {
        bundle.total = Some(store.search_count(&compile::count(&scope, &parsed)).await?);
    }
    if parsed.summary == Some(Summary::Count) {
        return Ok(FhirResponse::new(StatusCode::OK, Some(bundle.to_json())));
    }
    let mut matches = store
        .search_page(&ctx.tenant().id, &compile::page(&scope, &parsed))
        .await?;
    let has_next = matches.len() > parsed.count;
    matches.truncate(parsed.count);
    if let (true, Some(last)) = (has_next, matches.last()) {
        let mut next = link_params.clone();
        next.push(("_cursor".into(), last.seq.to_string()));
        bundle.link.push(Link {
            relation: "next",
            url: url_with(&path, &next),
        });
    }
    for m in matches {
        // One parse gives the entry's id and, for the access log, its patient.
        let resource: Value = serde_json::from_str(&m.json).unwrap_or_default();
        ctx.note_patient(crate::audit::patients::patient_of(served, &resource));
        let id = resource["id"].as_str().unwrap_or_default().to_string();
        let json = shape(&parsed, m.json);
        bundle.entry.push(Entry {
            full_url: Some(format!("{path}/{id}")),
            resource: Some(raw(json)),
            search: Some(json!({"mode": "match"})),
            ..Default::default()
        });
    }
    Ok(FhirResponse::new(StatusCode::OK, Some(bundle.to_json())))
}

type ElementFilter = Box<dyn Fn(&str) -> bool>;

/// Applies `_summary` and `_elements`, marking reduced resources SUBSETTED as the spec asks.
fn shape(parsed: &ParsedSearch, json: String) -> String {
    let keep: Option<ElementFilter> = match (&parsed.summary, &parsed.elements) {
        (_, Some(elements)) => {
            let elements = elements.clone();
            Some(Box::new(move |k: &str| elements.iter().any(|e| e == k)))
        }
        (Some(Summary::Data), None) => Some(Box::new(|k: &str| k != "text")),
        (Some(Summary::Text), None) => Some(Box::new(|k: &str| k == "text")),
        _ => None,
    };
    let Some(keep) = keep else { return json };
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(&json) else {
        return json;
    };
    let mut out = Map::new();
    for (k, v) in fields {
        if matches!(k.as_str(), "resourceType" | "id" | "meta") || keep(&k) {
            out.insert(k, v);
        }
    }
    let meta = out.entry("meta").or_insert_with(|| json!({}));
    let tags = meta
        .as_object_mut()
        .map(|m| m.entry("tag").or_insert_with(|| json!([])));
    if let Some(Value::Array(tags)) = tags {
        tags.push(json!({
            "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
            "code": "SUBSETTED",
            "display": "subsetted"
        }));
    }
    Value::Object(out).to_string()
}
