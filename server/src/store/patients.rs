//! The platform's patient records.

use helsebro_mappings::patient::PatientRecord;

use super::{StoreError, WriteTx};

impl WriteTx {
    pub async fn upsert_patient(
        &mut self,
        tenant_id: &str,
        id: &str,
        r: &PatientRecord,
    ) -> Result<(), StoreError> {
        let address = r.address.as_ref();
        sqlx::query(
            "INSERT INTO patients (tenant_id, id, national_id, national_id_kind, family_name, \
             given_names, birth_date, gender, municipality_code, postal_code, phone, email, \
             active, deceased, deleted) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, FALSE) \
             ON CONFLICT (tenant_id, id) DO UPDATE SET national_id = excluded.national_id, \
             national_id_kind = excluded.national_id_kind, family_name = excluded.family_name, \
             given_names = excluded.given_names, birth_date = excluded.birth_date, \
             gender = excluded.gender, municipality_code = excluded.municipality_code, \
             postal_code = excluded.postal_code, phone = excluded.phone, email = excluded.email, \
             active = excluded.active, deceased = excluded.deceased, deleted = FALSE",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(r.national_id.as_ref().map(|n| n.value.as_str()))
        .bind(r.national_id.as_ref().map(|n| n.kind.code()))
        .bind(r.family_name.as_deref())
        .bind(r.given_names.as_deref())
        .bind(r.birth_date.as_deref())
        .bind(r.gender.map(|g| g.code()))
        .bind(address.and_then(|a| a.municipality_code.as_deref()))
        .bind(address.and_then(|a| a.postal_code.as_deref()))
        .bind(r.phone.as_deref())
        .bind(r.email.as_deref())
        .bind(r.active)
        .bind(r.deceased)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// A deleted patient's record stays (marked) so that its history remains traceable.
    pub async fn mark_patient_deleted(
        &mut self,
        tenant_id: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE patients SET deleted = TRUE WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}
