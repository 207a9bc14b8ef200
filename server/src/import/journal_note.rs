//! Journal notes in the platform export. A note is not a served resource: it is written
//! on its own, and a final one queues its delivery to the patient's municipality in the
//! same transaction (see `delivery::journal_notes`).

use serde::Deserialize;

use crate::delivery::journal_notes::write_note;
use crate::store::document_sources::NewNote;
use crate::store::Store;
use crate::tenant::Tenant;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalNoteLine {
    #[serde(rename = "type")]
    _type: String,
    pub id: String,
    pub patient: String,
    /// The Practitioner id of the author.
    pub author: Option<String>,
    pub title: String,
    pub text: String,
    /// `final` (delivered) or `preliminary` (kept, not sent).
    #[serde(default = "final_status")]
    pub status: String,
    /// FHIR dateTime the note was written.
    pub written: String,
}

fn final_status() -> String {
    "final".into()
}

pub async fn write(store: &Store, tenant: &Tenant, note: JournalNoteLine) -> Result<(), String> {
    crate::fhir::check_id(&note.id).map_err(|e| e.to_string())?;
    if !matches!(note.status.as_str(), "final" | "preliminary") {
        return Err(format!(
            "status: '{}' is not final or preliminary",
            note.status
        ));
    }
    if note.text.trim().is_empty() {
        return Err("text: a journal note needs text".into());
    }
    let written_at = helsebro_mappings::dates::parse_range(&note.written)
        .ok_or_else(|| format!("written: '{}' is not a FHIR dateTime", note.written))?
        .low;
    write_note(
        store,
        &NewNote {
            tenant_id: &tenant.id,
            id: &note.id,
            patient_id: &note.patient,
            author_id: note.author.as_deref(),
            title: &note.title,
            text: &note.text,
            status: &note.status,
            written_at,
        },
    )
    .await
    .map(|_| ())
    .map_err(|e| e.to_string())
}
