//! Writing an alert. Closing one makes a document for the patient's municipality: its
//! delivery is queued in the transaction that records the closing, once per alert.

use super::documents::{alert_document, enqueue, DocumentRequest};
use super::{DeliveryError, DocumentKind};
use crate::store::document_sources::AlertFacts;
use crate::store::{now_micros, Store};

/// Records the alert; returns the id of the queued document when this write closed it.
pub async fn write_alert(
    store: &Store,
    tenant_id: &str,
    alert: &AlertFacts,
) -> Result<Option<String>, DeliveryError> {
    let route = match alert.closed_at {
        Some(_) => {
            let patient = store
                .patient_facts(tenant_id, &alert.patient_id)
                .await?
                .ok_or_else(|| {
                    DeliveryError::Source(format!("Patient/{} is not known", alert.patient_id))
                })?;
            let municipality = patient.municipality_code;
            Some(
                store
                    .delivery_route(tenant_id, municipality.as_deref())
                    .await?
                    .ok_or_else(|| {
                        DeliveryError::NoRoute(municipality.unwrap_or_else(|| "-".into()))
                    })?,
            )
        }
        None => None,
    };
    let mut tx = store.begin_write().await?;
    let was_closed = tx.put_alert(tenant_id, alert).await?;
    let Some(route) = route.filter(|_| !was_closed) else {
        tx.commit().await?;
        return Ok(None);
    };
    let document_id = uuid::Uuid::new_v4().to_string();
    let created = now_micros();
    let request = DocumentRequest {
        tenant_id,
        kind: DocumentKind::ClosedAlert,
        source_id: &alert.id,
        patient_id: &alert.patient_id,
        document_id: &document_id,
        created,
        route: &route,
    };
    let content = alert_document(store, &request, alert).await?;
    enqueue(&mut tx, &request, &content).await?;
    tx.commit().await?;
    Ok(Some(document_id))
}
