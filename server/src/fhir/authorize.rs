//! The access decision every interaction makes before it touches data: does the token
//! grant this permission on this type, and is this resource within its reach.

use helsebro_mappings::index::{self, IndexValue};
use serde_json::Value;

use super::error::ApiError;
use super::search::compile::{self, Scope};
use super::search::params;
use super::Ctx;
use crate::auth::access::{Access, Reach};
use crate::auth::scopes::Permission;
use crate::served::ServedType;

impl Ctx {
    /// The verified token, or `401`.
    pub fn access(&self) -> Result<&Access, ApiError> {
        self.access.as_ref().map_err(|e| match e {
            ApiError::Unauthorized { message, invalid } => ApiError::Unauthorized {
                message: message.clone(),
                invalid: *invalid,
            },
            other => ApiError::Internal(other.to_string()),
        })
    }

    /// What the token reaches of `served` for `permission`: `401` without a valid token,
    /// `403` when no scope grants it.
    pub fn authorize(&self, served: ServedType, permission: Permission) -> Result<Reach, ApiError> {
        let access = self.access()?;
        access.reach(served.name(), permission).ok_or_else(|| {
            ApiError::Forbidden(format!(
                "the access token grants no {} on {}",
                permission_name(permission),
                served.name()
            ))
        })
    }

    /// Whether the stored resource `id` is within `reach`, asked through the search index.
    pub async fn stored_within(
        &self,
        served: ServedType,
        id: &str,
        reach: &Reach,
    ) -> Result<bool, ApiError> {
        if reach.everything() {
            return Ok(true);
        }
        let mut pairs = vec![("_id".to_string(), id.to_string())];
        pairs.extend(reach.only.iter().cloned());
        let search = params::parse(served.def(), &pairs, true)?;
        let hasher = self.search_hasher().await?;
        let scope = Scope {
            tenant_id: &self.tenant().id,
            resource_type: served.name(),
            base_url: self.base(),
            hasher: &hasher,
        };
        let n = self
            .state
            .store
            .search_count(&compile::count(&scope, &search))
            .await?;
        Ok(n > 0)
    }
}

/// Whether a resource about to be written stays within `reach`. Only the patient
/// compartment is checked here; writes under a granular (query-restricted) scope are
/// refused rather than guessed at.
pub fn body_within(served: ServedType, resource: &Value, reach: &Reach) -> Result<(), ApiError> {
    let outside = || {
        ApiError::Forbidden(format!(
            "the access token does not reach this {} (it is outside the patient's compartment)",
            served.name()
        ))
    };
    for (param, value) in &reach.only {
        let ok = match param.as_str() {
            "_id" => resource["id"].as_str() == Some(value.as_str()),
            "patient" => index::extract(resource, served.def().search_params)
                .iter()
                .any(|e| {
                    e.param == "patient"
                        && matches!(&e.value, IndexValue::Reference { target_type: Some(t), target_id: Some(i), .. }
                            if format!("{t}/{i}") == *value)
                }),
            _ => {
                return Err(ApiError::Forbidden(
                    "writes under a query-restricted (granular) scope are not supported".into(),
                ))
            }
        };
        if !ok {
            return Err(outside());
        }
    }
    Ok(())
}

fn permission_name(p: Permission) -> &'static str {
    match p {
        Permission::Create => "create",
        Permission::Read => "read",
        Permission::Update => "update",
        Permission::Delete => "delete",
        Permission::Search => "search",
    }
}
