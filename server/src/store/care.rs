//! Care relationships: which practitioner takes part in which patient's care, the basis
//! on which a practitioner's `user/` scopes reach a patient.

use sqlx::Row;

use super::{Store, StoreError};

impl Store {
    pub async fn add_care_relationship(
        &self,
        tenant_id: &str,
        practitioner_id: &str,
        patient_id: &str,
        role: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO care_relationships (tenant_id, practitioner_id, patient_id, role) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, practitioner_id, patient_id) \
             DO UPDATE SET role = excluded.role",
        )
        .bind(tenant_id)
        .bind(practitioner_id)
        .bind(patient_id)
        .bind(role)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The patients a practitioner has a care relationship with, in the tenant.
    pub async fn care_patients(
        &self,
        tenant_id: &str,
        practitioner_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT patient_id FROM care_relationships WHERE tenant_id = $1 AND practitioner_id = $2 \
             ORDER BY patient_id",
        )
        .bind(tenant_id)
        .bind(practitioner_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}
