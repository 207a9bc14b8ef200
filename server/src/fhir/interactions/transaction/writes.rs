//! The writes of a transaction, or of one batch entry. Each is authorized and its
//! condition compiled as the single interaction does; conditions and conditional
//! references are resolved under their locks in the write transaction; references between
//! entries are rewritten; each resource is checked as a single write checks it; then all
//! are written by `WritePath::write_all` in that one transaction, in the spec's order
//! (DELETE, POST, PUT), and commit together or not at all.

use std::collections::{HashMap, HashSet};

use serde_json::json;

use super::entry::{Kind, Request, Target, Verb};
use super::references::{self, Found};
use crate::auth::access::Reach;
use crate::auth::scopes::Permission;
use crate::fhir::error::ApiError;
use crate::fhir::format::FhirResponse;
use crate::fhir::interactions::create::{check_create, conditional_search, created_response};
use crate::fhir::interactions::delete::{deleted_response, may_delete};
use crate::fhir::interactions::update::{
    check_update, check_update_body, check_update_reach, updated_response,
};
use crate::fhir::{served_type, Ctx};
use crate::served::ServedType;
use crate::store::WriteTx;
use crate::write_path::{
    Applied, AtomicError, AtomicWrite, Condition, DeleteOutcome, WriteError, WritePath, Written,
};

/// One entry's answer.
pub struct Done {
    pub index: usize,
    pub response: FhirResponse,
    /// `Type/id/_history/vid` of the version written or found.
    pub location: Option<String>,
    /// When that version was written, for the entry's `lastModified`.
    pub last_updated: Option<i64>,
}

/// An entry's write as far as it is decided.
struct Plan {
    req: Request,
    /// What the token reaches of the type for this write.
    reach: Option<Reach>,
    /// The target: a POST's new id, a PUT's or DELETE's, or what the condition found.
    id: Option<String>,
    /// `ifNoneExist`, or the query of a conditional update or delete.
    condition: Option<Condition>,
    /// The resource a conditional create found: nothing is written.
    found: Option<Written>,
    /// Whether the conditional update found its resource.
    matched: bool,
}

/// A conditional reference and its search.
struct ConditionalRef {
    reference: String,
    served: ServedType,
    index: usize,
    condition: Condition,
}

fn in_entry(index: usize) -> impl Fn(ApiError) -> ApiError {
    move |error| ApiError::InEntry {
        index,
        error: Box::new(error),
    }
}

/// Writes `requests` (no GETs) in one database transaction. An entry's failure fails
/// them all, as `ApiError::InEntry` naming it.
pub async fn run(ctx: &Ctx, requests: Vec<Request>, kind: Kind) -> Result<Vec<Done>, ApiError> {
    let mut plans = Vec::with_capacity(requests.len());
    for req in requests {
        let index = req.index;
        plans.push(plan(ctx, req).await.map_err(in_entry(index))?);
    }
    check_full_urls(&plans)?;
    let refs = conditional_references(ctx, &mut plans).await?;

    let template = crate::audit::record(
        &ctx.agent(),
        "rest",
        kind.code(),
        "0",
        None,
        None,
        Vec::<String>::new(),
    );
    let write_path = WritePath {
        store: &ctx.state.store,
        tenant: ctx.tenant(),
        base_url: ctx.base(),
        audit: Some(&template),
    };
    // The searches of conditions run under their locks in the writing transaction; without
    // any, the checks below (validation, the costly part) run before it begins.
    let mut tx = None;
    let mut identities = HashMap::new();
    if plans.iter().any(|p| p.condition.is_some()) || !refs.is_empty() {
        let mut opened = ctx.state.store.begin_write().await?;
        resolve(&write_path, &mut opened, &mut plans, &refs, &mut identities).await?;
        tx = Some(opened);
    }
    check_targets(&plans)?;
    for p in &plans {
        if let (Some(full_url), Some(id), Verb::Post | Verb::Put) =
            (&p.req.full_url, &p.id, p.req.verb)
        {
            identities.insert(full_url.clone(), format!("{}/{id}", p.req.served.name()));
        }
    }

    let mut writes = Vec::with_capacity(plans.len());
    let mut written_by = Vec::with_capacity(plans.len());
    for (at, p) in plans.iter_mut().enumerate() {
        let index = p.req.index;
        if let Some(write) =
            checked(ctx, &write_path, p, &identities, kind).map_err(in_entry(index))?
        {
            writes.push(write);
            written_by.push(at);
        }
    }
    // DELETE, then POST, then PUT, each in Bundle order.
    let mut order: Vec<usize> = (0..writes.len()).collect();
    order.sort_by_key(|&w| rank(plans[written_by[w]].req.verb));
    let mut sorted: Vec<Option<AtomicWrite>> = writes.into_iter().map(Some).collect();
    let writes: Vec<AtomicWrite> = order
        .iter()
        .map(|&w| sorted[w].take().expect("each write once"))
        .collect();

    let mut tx = match tx {
        Some(tx) => tx,
        None => ctx.state.store.begin_write().await?,
    };
    let applied = write_path
        .write_all(&mut tx, writes)
        .await
        .map_err(|e| match e {
            AtomicError::Entry(w, error) => {
                in_entry(plans[written_by[order[w]]].req.index)(error.into())
            }
            AtomicError::Store(e) => e.into(),
        })?;
    tx.commit().await?;

    let mut outcomes: Vec<Option<Applied>> = plans.iter().map(|_| None).collect();
    for (w, applied) in order.into_iter().zip(applied) {
        outcomes[written_by[w]] = Some(applied);
    }
    Ok(plans
        .into_iter()
        .zip(outcomes)
        .map(|(p, applied)| done(ctx.base(), p, applied))
        .collect())
}

fn rank(verb: Verb) -> u8 {
    match verb {
        Verb::Delete => 0,
        Verb::Post => 1,
        Verb::Put => 2,
        Verb::Get => 3,
    }
}

/// What can be decided before the write transaction: the token's permission and reach,
/// a POST's id, the compiled condition.
async fn plan(ctx: &Ctx, req: Request) -> Result<Plan, ApiError> {
    let served = req.served;
    let mut p = Plan {
        reach: None,
        id: None,
        condition: None,
        found: None,
        matched: false,
        req,
    };
    match (p.req.verb, &p.req.target) {
        (Verb::Post, _) => {
            let reach = ctx.authorize(served, Permission::Create)?;
            if let Some(query) = &p.req.if_none_exist {
                p.condition =
                    Some(conditional_search(ctx, served, &reach, query, "ifNoneExist").await?);
            }
            p.id = Some(uuid::Uuid::new_v4().to_string());
            p.reach = Some(reach);
        }
        (Verb::Put, Target::Instance(id)) => {
            let reach = ctx.authorize(served, Permission::Update)?;
            check_update_reach(ctx, served, id, &reach).await?;
            p.id = Some(id.clone());
            p.reach = Some(reach);
        }
        (Verb::Put, Target::Query(query)) => {
            let reach = ctx.authorize(served, Permission::Update)?;
            let what = "the conditional update's URL";
            p.condition = Some(conditional_search(ctx, served, &reach, query, what).await?);
            p.reach = Some(reach);
        }
        (Verb::Delete, Target::Instance(id)) => {
            // Outside the token's reach is as if not there: nothing to delete.
            if may_delete(ctx, served, id).await? {
                p.id = Some(id.clone());
            }
        }
        (Verb::Delete, Target::Query(query)) => {
            let reach = ctx.authorize(served, Permission::Delete)?;
            let what = "the conditional delete's URL";
            p.condition = Some(conditional_search(ctx, served, &reach, query, what).await?);
            p.reach = Some(reach);
        }
        _ => {
            return Err(ApiError::bad_request(format!(
                "{} is not a write this server serves in a Bundle entry",
                p.req.verb.name()
            )))
        }
    }
    Ok(p)
}

/// Two entries with one `fullUrl` would make every reference to it ambiguous.
fn check_full_urls(plans: &[Plan]) -> Result<(), ApiError> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for p in plans {
        if let Some(url) = p.req.full_url.as_deref() {
            if let Some(first) = seen.insert(url, p.req.index) {
                return Err(in_entry(p.req.index)(ApiError::BadRequest {
                    code: "invalid",
                    message: format!(
                        "fullUrl '{url}' is also the fullUrl of Bundle.entry[{first}]"
                    ),
                    expression: Some(format!("Bundle.entry[{}].fullUrl", p.req.index)),
                }));
            }
        }
    }
    Ok(())
}

/// The spec's rule: the resources a transaction changes (conditional targets resolved)
/// are distinct.
fn check_targets(plans: &[Plan]) -> Result<(), ApiError> {
    let mut seen: HashMap<(ServedType, &str), usize> = HashMap::new();
    for p in plans
        .iter()
        .filter(|p| matches!(p.req.verb, Verb::Put | Verb::Delete))
    {
        let Some(id) = p.id.as_deref() else { continue };
        if let Some(first) = seen.insert((p.req.served, id), p.req.index) {
            return Err(in_entry(p.req.index)(ApiError::BadRequest {
                code: "invalid",
                message: format!(
                    "Bundle.entry[{first}] changes {}/{id} as well: a transaction changes \
                     each resource once",
                    p.req.served.name()
                ),
                expression: Some(format!("Bundle.entry[{}].request.url", p.req.index)),
            }));
        }
    }
    Ok(())
}

/// The distinct conditional references of the entries' resources, each with its search
/// compiled within what the token may search of its type.
async fn conditional_references(
    ctx: &Ctx,
    plans: &mut [Plan],
) -> Result<Vec<ConditionalRef>, ApiError> {
    let mut refs: Vec<ConditionalRef> = Vec::new();
    for p in plans.iter_mut() {
        let index = p.req.index;
        let Some(resource) = p.req.resource.as_mut() else {
            continue;
        };
        for Found { reference, .. } in references::conditional(resource) {
            if refs.iter().any(|r| r.reference == reference) {
                continue;
            }
            let compiled = async {
                let (type_name, query) =
                    references::conditional_parts(&reference).expect("found as conditional");
                let served = served_type(type_name)?;
                let reach = ctx.authorize(served, Permission::Search)?;
                let what = format!("the conditional reference '{reference}'");
                let condition = conditional_search(ctx, served, &reach, query, &what).await?;
                Ok::<_, ApiError>((served, condition))
            }
            .await
            .map_err(in_entry(index))?;
            refs.push(ConditionalRef {
                served: compiled.0,
                condition: compiled.1,
                reference,
                index,
            });
        }
    }
    Ok(refs)
}

/// Runs every condition's search in `tx`, taking the locks in one order (by key) so that
/// two transactions never wait on each other's. Deletes are processed first, so what this
/// transaction deletes matches no other entry's condition. Resolved conditional references
/// go into `identities`.
async fn resolve(
    write_path: &WritePath<'_>,
    tx: &mut WriteTx,
    plans: &mut [Plan],
    refs: &[ConditionalRef],
    identities: &mut HashMap<String, String>,
) -> Result<(), ApiError> {
    let mut order: Vec<(&str, usize)> = plans
        .iter()
        .map(|p| p.condition.as_ref())
        .chain(refs.iter().map(|r| Some(&r.condition)))
        .enumerate()
        .filter_map(|(i, c)| Some((c?.key.as_str(), i)))
        .collect();
    order.sort();
    let mut found: Vec<Vec<String>> = vec![Vec::new(); plans.len() + refs.len()];
    for (_, i) in order {
        let condition = match plans.get(i) {
            Some(p) => p.condition.as_ref(),
            None => Some(&refs[i - plans.len()].condition),
        };
        if let Some(condition) = condition {
            found[i] = write_path.find_matches(tx, condition).await?;
        }
    }
    let mut refs_found = found.split_off(plans.len());

    for (p, found) in plans.iter_mut().zip(found.iter_mut()) {
        if p.req.verb == Verb::Delete && p.condition.is_some() {
            apply_matches(p, std::mem::take(found)).map_err(in_entry(p.req.index))?;
        }
    }
    let deleted: HashSet<(ServedType, String)> = plans
        .iter()
        .filter(|p| p.req.verb == Verb::Delete)
        .filter_map(|p| Some((p.req.served, p.id.clone()?)))
        .collect();
    let live = |served: ServedType, found: &mut Vec<String>| {
        found.retain(|json| !deleted.contains(&(served, id_of(json))));
        std::mem::take(found)
    };
    for (p, found) in plans.iter_mut().zip(found.iter_mut()) {
        if p.req.verb != Verb::Delete && p.condition.is_some() {
            let found = live(p.req.served, found);
            apply_matches(p, found).map_err(in_entry(p.req.index))?;
        }
    }
    for (r, found) in refs.iter().zip(refs_found.iter_mut()) {
        let id = match live(r.served, found).as_slice() {
            [json] => id_of(json),
            [] => {
                return Err(in_entry(r.index)(ApiError::NotFound(format!(
                    "a {} matching the conditional reference '{}'",
                    r.served.name(),
                    r.reference
                ))))
            }
            _ => {
                return Err(in_entry(r.index)(ApiError::PreconditionFailed(format!(
                    "the conditional reference '{}' matches several resources; it must \
                     match exactly one",
                    r.reference
                ))))
            }
        };
        identities.insert(r.reference.clone(), format!("{}/{id}", r.served.name()));
    }
    Ok(())
}

fn id_of(json: &str) -> String {
    Written::found(json).id
}

/// What a conditional create, update or delete does with what its search found.
fn apply_matches(p: &mut Plan, found: Vec<String>) -> Result<(), ApiError> {
    let several = |what: &str| {
        ApiError::PreconditionFailed(format!(
            "{what} matches several resources; it must match at most one"
        ))
    };
    match (p.req.verb, found.as_slice()) {
        (Verb::Post, []) => {}
        (Verb::Post, [json]) => {
            let written = Written::found(json);
            p.id = Some(written.id.clone());
            p.found = Some(written);
        }
        (Verb::Post, many) => return Err(WriteError::AmbiguousCondition(many.len()).into()),
        (Verb::Put, []) => {
            // No match: a create, under the body's id when it has one (update as create).
            let body_id = p.req.resource.as_ref().and_then(|r| r["id"].as_str());
            p.id = Some(body_id.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string));
        }
        (Verb::Put, [json]) => {
            p.id = Some(id_of(json));
            p.matched = true;
        }
        (Verb::Put, _) => return Err(several("the conditional update's URL")),
        (Verb::Delete, []) => {}
        (Verb::Delete, [json]) => p.id = Some(id_of(json)),
        (Verb::Delete, _) => return Err(several("the conditional delete's URL")),
        (Verb::Get, _) => {}
    }
    Ok(())
}

/// The entry's resource with its references rewritten, checked as the single interaction
/// checks it, as the write to make; `None` for a delete with nothing to delete.
fn checked(
    ctx: &Ctx,
    write_path: &WritePath<'_>,
    p: &mut Plan,
    identities: &HashMap<String, String>,
    kind: Kind,
) -> Result<Option<AtomicWrite>, ApiError> {
    let served = p.req.served;
    if p.req.verb == Verb::Delete {
        return Ok(p.id.clone().map(|id| AtomicWrite::Delete {
            served,
            id,
            if_match: p.req.if_match,
        }));
    }
    let (Some(mut resource), Some(id)) = (p.req.resource.take(), p.id.clone()) else {
        return Err(ApiError::bad_request("the entry has no resource to write"));
    };
    if let Some(stray) = references::rewrite(&mut resource, identities).first() {
        return Err(ApiError::BadRequest {
            code: "not-found",
            message: match kind {
                Kind::Transaction => format!(
                    "'{}' is not the fullUrl of any entry of this transaction",
                    stray.reference
                ),
                Kind::Batch => format!(
                    "'{}' is not resolved: a batch does not resolve references between its \
                     entries (a transaction does); refer to the resource by its id on this \
                     server",
                    stray.reference
                ),
            },
            expression: Some(stray.expression.clone()),
        });
    }
    if p.req.verb == Verb::Post {
        check_create(ctx, served, &resource)?;
    } else {
        if let Target::Query(_) = p.req.target {
            if let Some(body_id) = resource["id"].as_str().filter(|b| *b != id) {
                return Err(ApiError::BadRequest {
                    code: "invalid",
                    message: format!(
                        "the body's id '{body_id}' is not that of the resource the \
                         conditional update found ({}/{id})",
                        served.name()
                    ),
                    expression: Some(format!("{}.id", served.name())),
                });
            }
            resource["id"] = json!(id);
        }
        check_update_body(served, &id, &resource)?;
        let reach = check_update(ctx, served, &resource)?;
        let creates_by_condition = matches!(p.req.target, Target::Query(_)) && !p.matched;
        if creates_by_condition && !reach.everything() {
            return Err(ApiError::Forbidden(
                "the conditional update matches no resource the access token reaches; it \
                 updates only resources it reaches, and creates with POST"
                    .into(),
            ));
        }
    }
    let record = write_path.check_incoming(served, &resource)?;
    Ok(Some(match (p.req.verb, p.found.take()) {
        (Verb::Post, Some(written)) => AtomicWrite::Found { served, written },
        (Verb::Post, None) => AtomicWrite::Create {
            served,
            id,
            resource,
            record,
        },
        _ => AtomicWrite::Update {
            served,
            id,
            resource,
            record,
            if_match: p.req.if_match,
        },
    }))
}

/// The entry's answer, built as the single interaction builds it.
fn done(base: &str, p: Plan, applied: Option<Applied>) -> Done {
    let served = p.req.served;
    let location = |w: &Written| Some(format!("{}/{}/_history/{}", served.name(), w.id, w.version));
    let (response, location, last_updated) = match applied {
        Some(Applied::Written(w)) => {
            let (l, t) = (location(&w), Some(w.last_updated));
            let response = match p.req.verb {
                Verb::Post => created_response(base, served, w),
                _ => updated_response(base, served, w),
            };
            (response, l, t)
        }
        Some(Applied::Deleted(outcome)) => (deleted_response(&outcome), None, None),
        None => (deleted_response(&DeleteOutcome::Nothing), None, None),
    };
    Done {
        index: p.req.index,
        response,
        location,
        last_updated,
    }
}
