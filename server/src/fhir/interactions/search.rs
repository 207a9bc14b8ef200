//! Search: type level by `GET [type]?…` and `POST [type]/_search` (form body, keeping
//! identifiers such as national identity numbers out of URLs and logs), in a compartment
//! (`GET Patient/{id}/Observation?…`) and across types (`GET [base]?_type=…`).

use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use serde_json::{json, Map, Value};

use crate::auth::scopes::Permission;
use crate::fhir::bundle::{raw, url_with, Bundle, Entry, Link};
use crate::fhir::error::ApiError;
use crate::fhir::format::{FhirResponse, Rendered};
use crate::fhir::search::compile::{self, ContainedIn, Scope};
use crate::fhir::search::include;
use crate::fhir::search::params::{self, Clause, Contained, Nested, ParsedSearch, Summary, Total};
use crate::fhir::{check_id, served_type, Ctx};
use crate::served::ServedType;
use crate::store::search::Match;

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
    let path = format!("{}/{rtype}", ctx.base());
    search(ctx, rtype, &pairs, None, Within { path, only: None }).await
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
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "_count" | "_cursor" | "_offset" | "_format" | "_pretty"
                )
            })
            .cloned()
            .collect();
        let handle = ctx
            .state
            .store
            .save_search(&ctx.tenant().id, served.name(), &filters)
            .await?;
        let path = format!("{}/{rtype}", ctx.base());
        search(
            &ctx,
            &rtype,
            &pairs,
            Some(handle),
            Within { path, only: None },
        )
        .await
    }
    .await;
    ctx.render(result)
}

/// The compartments served, by owner type: each member type and the parameters by which
/// a member belongs to the owner (R4 CompartmentDefinitions, cut to the parameters we
/// have: Patient's `link` is not indexed).
const COMPARTMENTS: &[(&str, &str, &[&str])] = &[
    ("Patient", "Patient", &["_id"]),
    ("Patient", "Observation", &["subject", "performer"]),
    (
        "Patient",
        "Communication",
        &["subject", "sender", "recipient"],
    ),
    ("Patient", "MedicationStatement", &["subject"]),
    ("Practitioner", "Practitioner", &["_id"]),
    ("Practitioner", "Patient", &["general-practitioner"]),
    ("Practitioner", "Observation", &["performer"]),
    ("Practitioner", "Communication", &["sender", "recipient"]),
    ("Practitioner", "MedicationStatement", &["source"]),
];

/// `GET [Compartment]/{id}/[type]?…`: a type-level search within the owner's compartment.
pub async fn compartment(
    mut ctx: Ctx,
    Path((owner, owner_id, rtype)): Path<(String, String, String)>,
) -> Rendered {
    ctx.note("search-type", format!("{owner}/{rtype}"));
    let result = async {
        ctx.negotiated()?;
        served_type(&owner)?;
        check_id(&owner_id)?;
        let served = served_type(&rtype)?;
        ctx.authorize(served, Permission::Search)?;
        let (_, _, names) = COMPARTMENTS
            .iter()
            .find(|(o, t, _)| *o == owner && *t == served.name())
            .ok_or_else(|| ApiError::BadRequest {
                code: "not-supported",
                message: format!("{rtype} is not in the {owner} compartment on this server"),
                expression: None,
            })?;
        let def = served.def();
        let choices: Vec<Clause> = names
            .iter()
            .map(|name| {
                let param = def
                    .search_param(name)
                    .expect("compartment parameters exist");
                let value = if *name == "_id" {
                    owner_id.clone()
                } else {
                    format!("{owner}/{owner_id}")
                };
                Clause::plain(param, vec![value])
            })
            .collect();
        let clause = Clause::any_of(choices).expect("every compartment names a parameter");
        let path = format!("{}/{owner}/{owner_id}/{rtype}", ctx.base());
        let pairs = ctx.query.clone();
        search(
            &ctx,
            &rtype,
            &pairs,
            None,
            Within {
                path,
                only: Some(clause),
            },
        )
        .await
    }
    .await;
    ctx.render(result)
}

/// `_page=handle` continues a POST search: its parameters come from the server, the
/// request adds only paging (`_cursor`, `_offset`, `_count`) and formatting.
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

/// Where a search runs: its URL, and the compartment it is confined to.
struct Within {
    path: String,
    only: Option<Clause>,
}

/// Parameter names only: values (a national identity number) stay out of the log.
fn note_names(ctx: &Ctx, subtype: &'static str, what: &str, pairs: &[(String, String)]) {
    let mut names: Vec<&str> = pairs
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !matches!(*k, "_format" | "_pretty" | "_cursor" | "_offset" | "_page"))
        .collect();
    names.dedup();
    ctx.note(subtype, format!("{what}?{}", names.join(",")));
}

/// Every type a chain or reverse chain reads must be searchable under the token, and only
/// what the token reaches of it counts.
fn narrow_nested(ctx: &Ctx, clauses: &mut [Clause]) -> Result<(), ApiError> {
    for clause in clauses {
        match &mut clause.nested {
            Some(Nested::Chain(targets)) => {
                for (def, inner) in targets {
                    narrow_inner(ctx, def, inner)?;
                }
            }
            Some(Nested::Has { source, inner }) => narrow_inner(ctx, source, inner)?,
            Some(Nested::AnyOf(choices)) => narrow_nested(ctx, choices)?,
            None => {}
        }
    }
    Ok(())
}

fn narrow_inner(
    ctx: &Ctx,
    def: &'static helsebro_conformance::registry::ResourceDef,
    inner: &mut Vec<Clause>,
) -> Result<(), ApiError> {
    narrow_nested(ctx, inner)?;
    let reach = ctx.authorize(served_type(def.type_name)?, Permission::Search)?;
    inner.extend(params::parse(def, &reach.only, true)?.clauses);
    Ok(())
}

async fn search(
    ctx: &Ctx,
    rtype: &str,
    pairs: &[(String, String)],
    saved: Option<String>,
    within: Within,
) -> Result<FhirResponse, ApiError> {
    note_names(ctx, "search-type", rtype, pairs);
    let served = served_type(rtype)?;
    let reach = ctx.authorize(served, Permission::Search)?;
    let mut parsed = params::parse(served.def(), pairs, ctx.strict_handling())?;
    narrow_nested(ctx, &mut parsed.clauses)?;
    let hasher = ctx.search_hasher().await?;
    let scope = Scope {
        tenant_id: &ctx.tenant().id,
        resource_type: served.name(),
        base_url: ctx.base(),
        hasher: &hasher,
    };
    // What the token reaches narrows every search, so that a search outside it finds
    // nothing rather than failing. A contained resource is reached through its container.
    let reach_clauses = params::parse(served.def(), &reach.only, true)?.clauses;
    let contained = match parsed.contained {
        Contained::No => {
            parsed.clauses.extend(reach_clauses);
            None
        }
        mode => {
            check_contained_search(&parsed)?;
            Some(ContainedIn {
                containers: containers_reached(ctx, &scope)?,
                stored_reach: (mode == Contained::Both).then_some(reach_clauses),
            })
        }
    };
    let contained = contained.as_ref();
    parsed.clauses.extend(within.only);
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
    let store = &ctx.state.store;
    let count = || compile::count_of(&scope, &parsed, contained);
    if parsed.summary == Some(Summary::Count) {
        let total = store.search_count(&count()).await?;
        return Ok(count_only(&within.path, &link_params, total));
    }
    let mut matches = store
        .search_page(
            &ctx.tenant().id,
            &compile::page_of(&scope, &parsed, contained),
        )
        .await?;
    let has_next = matches.len() > parsed.count;
    matches.truncate(parsed.count);
    let total = match parsed.total {
        Total::None => None,
        Total::Accurate => Some(store.search_count(&count()).await?),
        Total::Estimate => Some(
            store
                .search_estimate(&compile::estimate(&scope, &parsed, contained))
                .await?,
        ),
        // `_count=0` asks for nothing but the number.
        Total::Unasked if parsed.count == 0 => Some(store.search_count(&count()).await?),
        Total::Unasked => first_page_total(&parsed, has_next, matches.len()),
    };
    let included = include::resolve(ctx, &scope, &parsed, &matches).await?;
    let page = Page {
        parsed: &parsed,
        path: &within.path,
        link_params,
        has_next,
        total,
    };
    Ok(page.bundle(ctx, matches, included))
}

/// What `_contained` searches do not combine with: a reverse chain or an include would
/// follow references to or from a contained resource that have no meaning outside its
/// container, and sort keys belong to the contained type, not to its containers.
fn check_contained_search(parsed: &ParsedSearch) -> Result<(), ApiError> {
    let refuse = |what: &str| {
        Err(ApiError::BadRequest {
            code: "not-supported",
            message: format!("{what} cannot be combined with _contained"),
            expression: None,
        })
    };
    if parsed
        .clauses
        .iter()
        .any(|c| matches!(c.nested, Some(Nested::Has { .. })))
    {
        return refuse("_has");
    }
    if !parsed.includes.is_empty() || parsed.include_all {
        return refuse("_include and _revinclude");
    }
    if parsed.return_containers && !parsed.sort.is_empty() {
        return refuse("_sort with _containedType=container");
    }
    Ok(())
}

/// Every type the token may search, as a container of contained matches, each narrowed
/// to what the token reaches of it.
fn containers_reached<'a>(
    ctx: &Ctx,
    scope: &Scope<'a>,
) -> Result<Vec<(Scope<'a>, Vec<Clause>)>, ApiError> {
    let mut out = Vec::new();
    for served in ServedType::ALL {
        if let Ok(reach) = ctx.authorize(served, Permission::Search) {
            let clauses = params::parse(served.def(), &reach.only, true)?.clauses;
            out.push((
                Scope {
                    resource_type: served.name(),
                    ..*scope
                },
                clauses,
            ));
        }
    }
    Ok(out)
}

/// `_summary=count`: the searchset with its total and no entries.
fn count_only(path: &str, link_params: &[(String, String)], total: i64) -> FhirResponse {
    let mut bundle = Bundle::new("searchset");
    bundle.link.push(Link {
        relation: "self",
        url: url_with(path, link_params),
    });
    bundle.total = Some(total);
    FhirResponse::new(StatusCode::OK, Some(bundle.to_json()))
}

/// Without `_total`, a total is given only where it costs nothing: on a first page that
/// holds every match.
fn first_page_total(parsed: &ParsedSearch, has_next: bool, found: usize) -> Option<i64> {
    let first = parsed.cursor.is_none() && parsed.offset.unwrap_or(0) == 0;
    (first && !has_next).then_some(found as i64)
}

/// What a searchset Bundle is made of.
struct Page<'a> {
    parsed: &'a ParsedSearch,
    path: &'a str,
    link_params: Vec<(String, String)>,
    has_next: bool,
    total: Option<i64>,
}

impl Page<'_> {
    fn bundle(self, ctx: &Ctx, matches: Vec<Match>, included: include::Included) -> FhirResponse {
        let mut bundle = Bundle::new("searchset");
        bundle.total = self.total;
        bundle.link.push(Link {
            relation: "self",
            url: url_with(self.path, &self.link_params),
        });
        if let (true, Some(last)) = (self.has_next, matches.last()) {
            let mut next = self.link_params.clone();
            if self.parsed.sort.is_empty() {
                next.push(("_cursor".into(), last.seq.to_string()));
            } else {
                let offset = self.parsed.offset.unwrap_or(0) + self.parsed.count;
                next.push(("_offset".into(), offset.to_string()));
            }
            bundle.link.push(Link {
                relation: "next",
                url: url_with(self.path, &next),
            });
        }
        for (m, mode) in matches
            .into_iter()
            .map(|m| (m, "match"))
            .chain(included.resources.into_iter().map(|m| (m, "include")))
        {
            bundle.entry.push(self.entry(ctx, m, mode));
        }
        if included.truncated {
            bundle.entry.push(Entry {
                resource: Some(raw(json!({
                    "resourceType": "OperationOutcome",
                    "issue": [{
                        "severity": "warning",
                        "code": "too-costly",
                        "diagnostics": format!(
                            "more than {} resources were to be included; the rest are left out",
                            include::MAX_INCLUDED
                        )
                    }]
                })
                .to_string())),
                search: Some(json!({"mode": "outcome"})),
                ..Default::default()
            });
        }
        FhirResponse::new(StatusCode::OK, Some(bundle.to_json()))
    }

    fn entry(&self, ctx: &Ctx, m: Match, mode: &str) -> Entry {
        if let Some((container_type, container_id)) = &m.container {
            // The container's patient is whose record the contained resource is part of.
            if let Some(served) = ServedType::from_name(container_type) {
                ctx.note_patient(crate::audit::patients::patient_of_json(served, &m.json));
            }
            let resource = contained_json(&m.json, &m.resource_type, &m.id);
            return Entry {
                full_url: Some(format!(
                    "{}/{container_type}/{container_id}#{}",
                    ctx.base(),
                    m.id
                )),
                resource: Some(raw(shape(self.parsed, &m.resource_type, resource))),
                search: Some(json!({"mode": mode})),
                ..Default::default()
            };
        }
        let served = ServedType::from_name(&m.resource_type);
        if let Some(served) = served {
            ctx.note_patient(crate::audit::patients::patient_of_json(served, &m.json));
        }
        Entry {
            full_url: Some(format!("{}/{}/{}", ctx.base(), m.resource_type, m.id)),
            resource: Some(raw(shape(self.parsed, &m.resource_type, m.json))),
            search: Some(json!({"mode": mode})),
            ..Default::default()
        }
    }
}

/// `GET [base]?_type=…&…`: one search across types. Every filter must be a parameter of
/// each type searched; includes are not supported at this level.
pub async fn system(mut ctx: Ctx) -> Rendered {
    ctx.note("search-system", "");
    let result = async {
        ctx.negotiated()?;
        let pairs = ctx.query.clone();
        search_system(&ctx, &pairs).await
    }
    .await;
    ctx.render(result)
}

async fn search_system(ctx: &Ctx, pairs: &[(String, String)]) -> Result<FhirResponse, ApiError> {
    note_names(ctx, "search-system", "", pairs);
    ctx.access()?;
    let named: Option<Vec<String>> = pairs
        .iter()
        .filter(|(k, _)| k == "_type")
        .map(|(_, v)| {
            v.split(',')
                .map(|t| t.trim().to_string())
                .collect::<Vec<_>>()
        })
        .reduce(|mut a, b| {
            a.extend(b);
            a
        });
    let mut types = Vec::new();
    match &named {
        Some(names) => {
            for name in names {
                let served = served_type(name)?;
                types.push((served, ctx.authorize(served, Permission::Search)?));
            }
        }
        None => {
            for served in ServedType::ALL {
                if let Ok(reach) = ctx.authorize(served, Permission::Search) {
                    types.push((served, reach));
                }
            }
        }
    }
    if types.is_empty() {
        return Err(ApiError::Forbidden(
            "the access token grants search on no resource type".into(),
        ));
    }
    let filters: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "_type")
        .cloned()
        .collect();
    for (key, _) in &filters {
        if key.starts_with("_include") || key.starts_with("_revinclude") {
            return Err(ApiError::BadRequest {
                code: "not-supported",
                message: format!("'{key}' is supported in searches of one type, not across types"),
                expression: None,
            });
        }
        let name = key.split([':', '.']).next().unwrap_or_default();
        let on: Vec<&str> = types
            .iter()
            .filter(|(s, _)| s.def().search_param(name).is_some())
            .map(|(s, _)| s.name())
            .collect();
        if !on.is_empty() && on.len() < types.len() {
            return Err(ApiError::bad_request(format!(
                "'{name}' is a parameter of {} only: name those types in _type, or search them one by one",
                on.join(", ")
            )));
        }
    }
    let hasher = ctx.search_hasher().await?;
    let mut parsed_types = Vec::new();
    for (served, reach) in &types {
        let mut parsed = params::parse(served.def(), &filters, ctx.strict_handling())?;
        narrow_nested(ctx, &mut parsed.clauses)?;
        parsed
            .clauses
            .extend(params::parse(served.def(), &reach.only, true)?.clauses);
        parsed_types.push((*served, parsed));
    }
    let scopes: Vec<(Scope, &[Clause])> = parsed_types
        .iter()
        .map(|(served, parsed)| {
            (
                Scope {
                    tenant_id: &ctx.tenant().id,
                    resource_type: served.name(),
                    base_url: ctx.base(),
                    hasher: &hasher,
                },
                parsed.clauses.as_slice(),
            )
        })
        .collect();
    let parsed = &parsed_types[0].1;
    let mut link_params = parsed.applied.clone();
    if let Some(names) = &named {
        link_params.insert(0, ("_type".into(), names.join(",")));
    }
    let store = &ctx.state.store;
    let count = || compile::count_across(&scopes);
    if parsed.summary == Some(Summary::Count) {
        let total = store.search_count(&count()).await?;
        return Ok(count_only(ctx.base(), &link_params, total));
    }
    let mut matches = store
        .search_page(&ctx.tenant().id, &compile::page_across(&scopes, parsed))
        .await?;
    let has_next = matches.len() > parsed.count;
    matches.truncate(parsed.count);
    let total = match parsed.total {
        Total::None => None,
        Total::Accurate | Total::Estimate => Some(store.search_count(&count()).await?),
        Total::Unasked => first_page_total(parsed, has_next, matches.len()),
    };
    let page = Page {
        parsed,
        path: ctx.base(),
        link_params,
        has_next,
        total,
    };
    Ok(page.bundle(
        ctx,
        matches,
        include::Included {
            resources: Vec::new(),
            truncated: false,
        },
    ))
}

/// The contained resource `resource_type/id` of a container's JSON. Its index rows were
/// made from this very JSON, so it is there.
fn contained_json(container: &str, resource_type: &str, id: &str) -> String {
    let container: Value = serde_json::from_str(container).unwrap_or(Value::Null);
    container["contained"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["resourceType"] == resource_type && c["id"] == id)
        .map_or_else(
            || json!({"resourceType": resource_type, "id": id}),
            Clone::clone,
        )
        .to_string()
}

type ElementFilter = Box<dyn Fn(&str) -> bool>;

/// Applies `_summary` and `_elements`, marking reduced resources SUBSETTED as the spec asks.
fn shape(parsed: &ParsedSearch, resource_type: &str, json: String) -> String {
    let keep: Option<ElementFilter> = match (&parsed.summary, &parsed.elements) {
        (_, Some(elements)) => {
            let elements = elements.clone();
            Some(Box::new(move |k: &str| elements.iter().any(|e| e == k)))
        }
        (Some(Summary::True), None) => {
            let rtype = resource_type.to_string();
            Some(Box::new(move |k: &str| {
                helsebro_profiles::summary::is_summary(&rtype, k).unwrap_or(true)
            }))
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
