//! Groups are care panels: the platform's natural cohorts are its care relationships
//! (`care_relationships`: which practitioner takes part in which patient's care), so
//! each Practitioner's panel is a read-only Group with the Practitioner's id. It is
//! computed from the relationships when asked, never stored, so it cannot drift from
//! them; it has no versions of its own.

use serde_json::{json, Value};

use crate::store::{Store, StoreError};

/// A practitioner's panel: its members' patient ids, or `None` when the tenant has no
/// such Practitioner (current, not deleted).
pub async fn members(
    store: &Store,
    tenant_id: &str,
    practitioner_id: &str,
) -> Result<Option<Vec<String>>, StoreError> {
    let found = store
        .read_current(tenant_id, "Practitioner", practitioner_id)
        .await?;
    if found.is_none_or(|p| p.deleted) {
        return Ok(None);
    }
    Ok(Some(store.care_patients(tenant_id, practitioner_id).await?))
}

/// The panel as an R4 Group: `person`, `actual`, managed by the Practitioner.
pub fn group(practitioner_id: &str, members: &[String]) -> Value {
    json!({
        "resourceType": "Group",
        "id": practitioner_id,
        "type": "person",
        "actual": true,
        "name": "Care panel",
        "quantity": members.len(),
        "managingEntity": {"reference": format!("Practitioner/{practitioner_id}")},
        "member": members
            .iter()
            .map(|p| json!({"entity": {"reference": format!("Patient/{p}")}}))
            .collect::<Vec<_>>(),
    })
}
