//! Writing a journal note. A note written as `final` is a document for the patient's
//! municipality: its delivery is queued in the same transaction as the note, so there is
//! never a finished note without a delivery, nor a delivery without its note.

use super::documents::{enqueue, note_document, note_source, DocumentRequest};
use super::{DeliveryError, DocumentKind};
use crate::store::document_sources::{NewNote, NoteFacts};
use crate::store::{now_micros, Store};

/// What writing a note did.
#[derive(Debug)]
pub struct WrittenNote {
    pub version: i64,
    /// The id of the queued delivery's document, when the note was final.
    pub document_id: Option<String>,
}

pub async fn write_note(store: &Store, note: &NewNote<'_>) -> Result<WrittenNote, DeliveryError> {
    let delivery = if note.status == "final" {
        let patient = store
            .patient_facts(note.tenant_id, note.patient_id)
            .await?
            .ok_or_else(|| {
                DeliveryError::Source(format!("Patient/{} is not known", note.patient_id))
            })?;
        let municipality = patient.municipality_code.clone();
        let route = store
            .delivery_route(note.tenant_id, municipality.as_deref())
            .await?
            .ok_or_else(|| DeliveryError::NoRoute(municipality.unwrap_or_else(|| "-".into())))?;
        Some(route)
    } else {
        None
    };
    let mut tx = store.begin_write().await?;
    let version = tx.add_journal_note(note).await?;
    let Some(route) = delivery else {
        tx.commit().await?;
        return Ok(WrittenNote {
            version,
            document_id: None,
        });
    };
    // The note is not committed yet, so the document is built from what is written.
    let written = NoteFacts {
        id: note.id.to_string(),
        version,
        patient_id: note.patient_id.to_string(),
        author_id: note.author_id.map(str::to_string),
        title: note.title.to_string(),
        text: note.text.to_string(),
        status: note.status.to_string(),
        written_at: note.written_at,
    };
    let created = now_micros();
    let document_id = uuid::Uuid::new_v4().to_string();
    let source_id = note_source(note.id, version);
    let request = DocumentRequest {
        tenant_id: note.tenant_id,
        kind: DocumentKind::JournalNote,
        source_id: &source_id,
        patient_id: note.patient_id,
        document_id: &document_id,
        created,
        route: &route,
    };
    let content = note_document(store, &request, &written).await?;
    enqueue(&mut tx, &request, &content).await?;
    tx.commit().await?;
    Ok(WrittenNote {
        version,
        document_id: Some(document_id),
    })
}
