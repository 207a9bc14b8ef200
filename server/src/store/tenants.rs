use sqlx::Row;

use super::{now_micros, Store, StoreError};
use crate::tenant::{Tenant, ValidationLevel};

/// The tenant requests act for until authorization assigns tenants from tokens.
pub const DEFAULT_TENANT_ID: &str = "default";

pub struct NewTenant<'a> {
    pub id: &'a str,
    pub org_number: &'a str,
    pub name: &'a str,
    pub municipality_number: Option<&'a str>,
    pub is_test: bool,
}

impl Store {
    /// Creates the tenant if it does not exist, then returns it as stored. An existing
    /// tenant keeps its settings.
    pub async fn ensure_tenant(&self, t: &NewTenant<'_>) -> Result<Tenant, StoreError> {
        sqlx::query(
            "INSERT INTO tenants (id, org_number, name, municipality_number, is_test, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
        )
        .bind(t.id)
        .bind(t.org_number)
        .bind(t.name)
        .bind(t.municipality_number)
        .bind(t.is_test)
        .bind(now_micros())
        .execute(self.pool())
        .await?;
        self.ensure_tenant_keys(t.id).await?;
        self.tenant(t.id).await?.ok_or(StoreError::Conflict)
    }

    /// Marks a tenant as a test tenant (synthetic national ids accepted), as demo mode needs.
    pub async fn mark_test_tenant(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE tenants SET is_test = TRUE WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError> {
        self.tenant_where("id", id).await
    }

    pub async fn tenant_by_org_number(
        &self,
        org_number: &str,
    ) -> Result<Option<Tenant>, StoreError> {
        self.tenant_where("org_number", org_number).await
    }

    async fn tenant_where(
        &self,
        column: &'static str,
        value: &str,
    ) -> Result<Option<Tenant>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT id, org_number, name, municipality_number, is_test, write_validation \
             FROM tenants WHERE {column} = $1"
        ))
        .bind(value)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| Tenant {
            id: r.get(0),
            org_number: r.get(1),
            name: r.get(2),
            municipality_number: r.get(3),
            is_test: super::flag(&r, 4),
            write_validation: ValidationLevel::read(r.get(5)),
        }))
    }

    /// Sets the level the tenant's writes are validated at; `false` when there is no such
    /// tenant. It applies from the next request on: the level is read with the tenant.
    pub async fn set_write_validation(
        &self,
        tenant_id: &str,
        level: ValidationLevel,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE tenants SET write_validation = $1 WHERE id = $2")
            .bind(level.as_str())
            .bind(tenant_id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
