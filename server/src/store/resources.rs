//! Reads of the current and earlier versions of a resource.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Store, StoreError};

/// One version of a resource as served. `json` is `None` for a deletion.
#[derive(Debug, Clone)]
pub struct StoredVersion {
    pub seq: i64,
    pub resource_type: String,
    pub id: String,
    pub version: i64,
    pub last_updated: i64,
    pub deleted: bool,
    pub json: Option<String>,
}

pub(super) fn current_from_row(r: &AnyRow) -> StoredVersion {
    StoredVersion {
        seq: r.get(0),
        resource_type: r.get(1),
        id: r.get(2),
        version: r.get(3),
        last_updated: r.get(4),
        deleted: super::flag(r, 5),
        json: r.get(6),
    }
}

/// Rows of `resource_versions`, whose sixth column is the method that made the version.
pub(super) fn version_from_row(r: &AnyRow) -> StoredVersion {
    let method: String = r.get(5);
    StoredVersion {
        seq: r.get(0),
        resource_type: r.get(1),
        id: r.get(2),
        version: r.get(3),
        last_updated: r.get(4),
        deleted: method == "DELETE",
        json: r.get(6),
    }
}

impl Store {
    /// The ids and JSON of up to `limit` current resources of one type, by id (the sign-in
    /// page's list of demo users).
    pub async fn list_current(
        &self,
        tenant_id: &str,
        resource_type: &str,
        limit: i64,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, json FROM resources WHERE tenant_id = $1 AND resource_type = $2 \
             AND deleted = FALSE ORDER BY id LIMIT $3",
        )
        .bind(tenant_id)
        .bind(resource_type)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push((r.get(0), self.unseal(tenant_id, r.get(1)).await?));
        }
        Ok(out)
    }

    pub async fn read_current(
        &self,
        tenant_id: &str,
        resource_type: &str,
        id: &str,
    ) -> Result<Option<StoredVersion>, StoreError> {
        let row = sqlx::query(
            "SELECT seq, resource_type, id, version, last_updated, deleted, json FROM resources \
             WHERE tenant_id = $1 AND resource_type = $2 AND id = $3",
        )
        .bind(tenant_id)
        .bind(resource_type)
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        self.unsealed(tenant_id, row.as_ref().map(current_from_row))
            .await
    }

    /// `v` with its JSON opened.
    pub(super) async fn unsealed(
        &self,
        tenant_id: &str,
        v: Option<StoredVersion>,
    ) -> Result<Option<StoredVersion>, StoreError> {
        match v {
            Some(mut v) => {
                v.json = self.unseal_opt(tenant_id, v.json).await?;
                Ok(Some(v))
            }
            None => Ok(None),
        }
    }

    pub async fn read_version(
        &self,
        tenant_id: &str,
        resource_type: &str,
        id: &str,
        version: i64,
    ) -> Result<Option<StoredVersion>, StoreError> {
        let row = sqlx::query(
            "SELECT seq, resource_type, id, version, last_updated, method, json \
             FROM resource_versions \
             WHERE tenant_id = $1 AND resource_type = $2 AND id = $3 AND version = $4",
        )
        .bind(tenant_id)
        .bind(resource_type)
        .bind(id)
        .bind(version)
        .fetch_optional(self.pool())
        .await?;
        self.unsealed(tenant_id, row.as_ref().map(version_from_row))
            .await
    }
}
