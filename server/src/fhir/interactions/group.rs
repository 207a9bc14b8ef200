//! `GET Group/{id}` and `GET Group`: the care panels (see `export::panel`), read-only, for
//! the tenant's `system/` scopes (a panel lists who is in a practitioner's care; patient
//! and user tokens never reach it). The search takes `_id` alone.

use axum::extract::Path;
use axum::http::StatusCode;
use serde_json::json;

use crate::auth::access::Access;
use crate::auth::scopes::{Context, Grant, Permission};
use crate::export::panel;
use crate::fhir::bundle::{raw, url_with, Bundle, Entry, Link};
use crate::fhir::error::ApiError;
use crate::fhir::format::{FhirResponse, Rendered};
use crate::fhir::search::params::MAX_COUNT;
use crate::fhir::{check_id, Ctx};

pub async fn read(mut ctx: Ctx, Path(id): Path<String>) -> Rendered {
    ctx.note("read", format!("Group/{id}"));
    let result = async {
        ctx.negotiated()?;
        check_id(&id)?;
        let access = ctx.access()?;
        panel_access(access, Permission::Read)?;
        let members = panel::members(&ctx.state.store, &access.tenant.id, &id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("Group/{id}")))?;
        for m in &members {
            ctx.note_patient(Some(m.clone()));
        }
        Ok(FhirResponse::new(
            StatusCode::OK,
            Some(panel::group(&id, &members).to_string()),
        ))
    }
    .await;
    ctx.render(result)
}

/// Every panel of the tenant (at most `MAX_COUNT`, by practitioner id), or those `_id`
/// names.
pub async fn search(mut ctx: Ctx) -> Rendered {
    ctx.note("search-type", "Group");
    let result = async {
        ctx.negotiated()?;
        let access = ctx.access()?;
        panel_access(access, Permission::Search)?;
        let mut ids: Option<Vec<String>> = None;
        let mut applied = Vec::new();
        for (k, v) in &ctx.query {
            match k.as_str() {
                "_id" => {
                    let list = ids.get_or_insert_with(Vec::new);
                    for id in v.split(',') {
                        check_id(id)?;
                        list.push(id.to_string());
                    }
                    applied.push((k.clone(), v.clone()));
                }
                "_format" | "_pretty" => {}
                other if ctx.strict_handling() => {
                    return Err(ApiError::BadRequest {
                        code: "not-supported",
                        message: format!("'{other}' is not a search parameter of Group here"),
                        expression: None,
                    })
                }
                _ => {}
            }
        }
        ctx.note(
            "search-type",
            if ids.is_some() { "Group?_id" } else { "Group" },
        );
        let store = &ctx.state.store;
        let tenant = &access.tenant.id;
        let ids = match ids {
            Some(ids) => ids,
            None => store
                .list_current(tenant, "Practitioner", MAX_COUNT as i64)
                .await?
                .into_iter()
                .map(|(id, _)| id)
                .collect(),
        };
        let path = format!("{}/Group", ctx.base());
        let mut bundle = Bundle::new("searchset");
        bundle.link.push(Link {
            relation: "self",
            url: url_with(&path, &applied),
        });
        for id in ids {
            let Some(members) = panel::members(store, tenant, &id).await? else {
                continue;
            };
            for m in &members {
                ctx.note_patient(Some(m.clone()));
            }
            bundle.entry.push(Entry {
                full_url: Some(format!("{path}/{id}")),
                resource: Some(raw(panel::group(&id, &members).to_string())),
                search: Some(json!({"mode": "match"})),
                ..Default::default()
            });
        }
        bundle.total = Some(bundle.entry.len() as i64);
        Ok(FhirResponse::new(StatusCode::OK, Some(bundle.to_json())))
    }
    .await;
    ctx.render(result)
}

/// Panels are for `system/` scopes that grant `permission` on Group without a query.
pub fn panel_access(access: &Access, permission: Permission) -> Result<(), ApiError> {
    match access.scopes.grant(Context::System, "Group", permission) {
        Grant::All => Ok(()),
        _ => Err(ApiError::Forbidden(
            "care panels (Group) are read with a system/ scope on Group".into(),
        )),
    }
}
