//! `_include` and `_revinclude`: the resources a page of results refers to, or that refer
//! to it, each read within what the token reaches; `:iterate` repeats on what was added.

use std::collections::HashSet;

use helsebro_conformance::registry::{self, ResourceDef};
use helsebro_mappings::index::ParamKind;

use super::compile::{self, Scope};
use super::params::{self, Clause, Include, ParsedSearch};
use crate::auth::scopes::Permission;
use crate::fhir::error::ApiError;
use crate::fhir::{served_type, Ctx};
use crate::store::search::Match;

/// At most this many included resources per page; more are left out with a warning.
pub const MAX_INCLUDED: usize = 1000;
/// `:iterate` follows at most this many steps.
const MAX_ROUNDS: usize = 4;

pub struct Included {
    pub resources: Vec<Match>,
    /// More were found than [`MAX_INCLUDED`].
    pub truncated: bool,
}

pub async fn resolve(
    ctx: &Ctx,
    scope: &Scope<'_>,
    search: &ParsedSearch,
    page: &[Match],
) -> Result<Included, ApiError> {
    let mut out = Included {
        resources: Vec::new(),
        truncated: false,
    };
    if search.includes.is_empty() && !search.include_all {
        return Ok(out);
    }
    let mut seen: HashSet<i64> = page.iter().map(|m| m.seq).collect();
    let mut frontier: Vec<Match> = page.to_vec();
    for round in 0..MAX_ROUNDS {
        let mut found = Vec::new();
        for include in search.includes.iter().filter(|i| round == 0 || i.iterate) {
            found.extend(if include.reverse {
                reverse(ctx, scope, include, &frontier).await?
            } else {
                forward(
                    ctx,
                    scope,
                    include.source,
                    include.param,
                    include.target,
                    &frontier,
                )
                .await?
            });
        }
        if round == 0 && search.include_all {
            for def in registry::SERVED {
                found.extend(forward(ctx, scope, def, None, None, &frontier).await?);
            }
        }
        frontier.clear();
        for m in found {
            if !seen.insert(m.seq) {
                continue;
            }
            if out.resources.len() == MAX_INCLUDED {
                out.truncated = true;
                return Ok(out);
            }
            frontier.push(m.clone());
            out.resources.push(m);
        }
        if frontier.is_empty() || !search.includes.iter().any(|i| i.iterate) {
            break;
        }
    }
    Ok(out)
}

/// The resources that those of `source` in `frontier` refer to through `param`.
async fn forward(
    ctx: &Ctx,
    scope: &Scope<'_>,
    source: &'static ResourceDef,
    param: Option<&'static helsebro_mappings::index::SearchParamDef>,
    target: Option<&'static str>,
    frontier: &[Match],
) -> Result<Vec<Match>, ApiError> {
    let seqs: Vec<i64> = frontier
        .iter()
        .filter(|m| m.resource_type == source.type_name)
        .map(|m| m.seq)
        .collect();
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    let from = Scope {
        resource_type: source.type_name,
        ..*scope
    };
    let sql = compile::references_from(&from, &seqs, param.map(|p| p.name), target);
    let targets = ctx.state.store.search_pairs(&sql).await?;
    let mut out = Vec::new();
    for def in registry::SERVED {
        let ids: Vec<String> = targets
            .iter()
            .filter(|(t, _)| t == def.type_name)
            .map(|(_, id)| id.clone())
            .collect();
        if ids.is_empty() {
            continue;
        }
        let id_param = def.search_param("_id").expect("every type has _id");
        out.extend(fetch(ctx, scope, def, vec![Clause::plain(id_param, ids)]).await?);
    }
    Ok(out)
}

/// The `include.source` resources whose `include.param` refers to one in `frontier`.
async fn reverse(
    ctx: &Ctx,
    scope: &Scope<'_>,
    include: &Include,
    frontier: &[Match],
) -> Result<Vec<Match>, ApiError> {
    let params: Vec<_> = match include.param {
        Some(p) => vec![p],
        None => include
            .source
            .search_params
            .iter()
            .filter(|p| p.kind == ParamKind::Reference)
            .collect(),
    };
    let mut choices = Vec::new();
    for param in params {
        let values: Vec<String> = frontier
            .iter()
            .filter(|m| {
                param.targets.is_empty() || param.targets.contains(&m.resource_type.as_str())
            })
            .filter(|m| include.target.is_none_or(|t| t == m.resource_type))
            .map(|m| format!("{}/{}", m.resource_type, m.id))
            .collect();
        if !values.is_empty() {
            choices.push(Clause::plain(param, values));
        }
    }
    let Some(clause) = Clause::any_of(choices) else {
        return Ok(Vec::new());
    };
    fetch(ctx, scope, include.source, vec![clause]).await
}

/// The `def` resources matching `clauses` and within the token's reach; nothing when the
/// token may not read `def` at all (an include never widens what a token sees).
async fn fetch(
    ctx: &Ctx,
    scope: &Scope<'_>,
    def: &'static ResourceDef,
    mut clauses: Vec<Clause>,
) -> Result<Vec<Match>, ApiError> {
    let served = served_type(def.type_name)?;
    let Ok(reach) = ctx.authorize(served, Permission::Read) else {
        return Ok(Vec::new());
    };
    clauses.extend(params::parse(def, &reach.only, true)?.clauses);
    let mut search = ParsedSearch::new(clauses);
    search.count = MAX_INCLUDED;
    let of_type = Scope {
        resource_type: def.type_name,
        ..*scope
    };
    let mut found = ctx
        .state
        .store
        .search_page(&ctx.tenant().id, &compile::page(&of_type, &search))
        .await?;
    found.truncate(MAX_INCLUDED);
    Ok(found)
}
