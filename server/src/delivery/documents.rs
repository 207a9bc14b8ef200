//! Builds a delivery's document from the platform's records: a FHIR document Bundle for
//! JFT and VKP, a Dialogmelding in a MsgHead for the EDI message service. The same
//! inputs give the same document, so a failed delivery retried by an operator sends
//! what it would have sent, under the same identifier.

use helsebro_mappings::dates::format_instant;
use helsebro_mappings::document::{
    closed_alert_document, journal_note_document, measurement_summary_document, Author,
    ClosedAlert, DocumentHeader, JournalNote, MeasurementSummary, NationalIdKind, Organisation,
    PatientIdentity,
};

use super::edi::msghead::{self, DialogNote, IdentKind, Note, Party, PatientIdent};
use super::{DeliveryError, DocumentKind};
use crate::store::deliveries::{DeliveryRoute, NewDelivery};
use crate::store::document_sources::{AlertFacts, NoteFacts, PatientFacts, SenderFacts};
use crate::store::write::WriteTx;
use crate::store::Store;

/// What a document is made for.
pub struct DocumentRequest<'a> {
    pub tenant_id: &'a str,
    pub kind: DocumentKind,
    pub source_id: &'a str,
    pub patient_id: &'a str,
    pub document_id: &'a str,
    /// When the document was first made (microseconds): its timestamp on every rebuild.
    pub created: i64,
    pub route: &'a DeliveryRoute,
}

/// Queues the document made for `r` in the transaction of the event that triggered it;
/// `false` if its source was queued before.
pub async fn enqueue(
    tx: &mut WriteTx,
    r: &DocumentRequest<'_>,
    content: &str,
) -> Result<bool, DeliveryError> {
    Ok(tx
        .enqueue_delivery(&NewDelivery {
            tenant_id: r.tenant_id,
            kind: r.kind.name(),
            source_id: r.source_id,
            patient_id: r.patient_id,
            document_id: r.document_id,
            route: r.route,
            content,
            queued_at: r.created,
        })
        .await?)
}

/// The source id of a journal note version.
pub fn note_source(id: &str, version: i64) -> String {
    format!("{id}/_history/{version}")
}

/// The source id of a measurement summary.
pub fn summary_source(patient_id: &str, from: &str, to: &str) -> String {
    format!("{patient_id}/{from}/{to}")
}

pub async fn build(store: &Store, r: &DocumentRequest<'_>) -> Result<String, DeliveryError> {
    let (patient, sender) = facts(store, r).await?;
    match r.kind {
        DocumentKind::JournalNote => {
            let (id, version) = r
                .source_id
                .split_once("/_history/")
                .and_then(|(id, v)| Some((id, v.parse::<i64>().ok()?)))
                .ok_or_else(|| DeliveryError::Source(format!("bad source {}", r.source_id)))?;
            let note = store
                .journal_note(r.tenant_id, id, version)
                .await?
                .ok_or_else(|| DeliveryError::Source(format!("journal note {id} is gone")))?;
            build_note(store, r, &patient, &sender, &note).await
        }
        DocumentKind::MeasurementSummary => {
            if r.route.connector == "edi" {
                return Err(DeliveryError::Source(
                    "a measurement summary is a FHIR document; the EDI route carries notes only"
                        .into(),
                ));
            }
            let mut parts = r.source_id.splitn(3, '/');
            let (_, from, to) = match (parts.next(), parts.next(), parts.next()) {
                (Some(p), Some(f), Some(t)) => (p, f, t),
                _ => return Err(DeliveryError::Source(format!("bad source {}", r.source_id))),
            };
            let ids = store
                .observations_between(r.tenant_id, r.patient_id, from, to)
                .await?;
            let observations = observations(store, r.tenant_id, &ids).await?;
            let header = header(r, &patient, &sender, None)?;
            let doc = measurement_summary_document(
                &header,
                &MeasurementSummary {
                    period_start: from.to_string(),
                    period_end: to.to_string(),
                    observations,
                },
            );
            Ok(doc.to_string())
        }
        DocumentKind::ClosedAlert => {
            let alert = store
                .alert(r.tenant_id, r.source_id)
                .await?
                .ok_or_else(|| DeliveryError::Source(format!("alert {} is gone", r.source_id)))?;
            build_alert(store, r, &patient, &sender, &alert).await
        }
    }
}

/// The current Observations with these ids, as served (a deleted one is left out).
async fn observations(
    store: &Store,
    tenant_id: &str,
    ids: &[String],
) -> Result<Vec<serde_json::Value>, DeliveryError> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(json) = store
            .read_current(tenant_id, "Observation", id)
            .await?
            .and_then(|v| v.json)
        {
            out.push(
                serde_json::from_str(&json).map_err(|e| DeliveryError::Source(e.to_string()))?,
            );
        }
    }
    Ok(out)
}

async fn facts(
    store: &Store,
    r: &DocumentRequest<'_>,
) -> Result<(PatientFacts, SenderFacts), DeliveryError> {
    let patient = store
        .patient_facts(r.tenant_id, r.patient_id)
        .await?
        .ok_or_else(|| DeliveryError::Source(format!("Patient/{} is gone", r.patient_id)))?;
    let sender = store
        .sender_facts(r.tenant_id)
        .await?
        .ok_or_else(|| DeliveryError::Source("the tenant is gone".into()))?;
    Ok((patient, sender))
}

/// A journal note's document, from the note itself (which may not be committed yet).
pub async fn note_document(
    store: &Store,
    r: &DocumentRequest<'_>,
    note: &NoteFacts,
) -> Result<String, DeliveryError> {
    let (patient, sender) = facts(store, r).await?;
    build_note(store, r, &patient, &sender, note).await
}

async fn build_note(
    store: &Store,
    r: &DocumentRequest<'_>,
    patient: &PatientFacts,
    sender: &SenderFacts,
    note: &NoteFacts,
) -> Result<String, DeliveryError> {
    let author = match &note.author_id {
        Some(a) => store.author_facts(r.tenant_id, a).await?,
        None => None,
    };
    if r.route.connector == "edi" {
        return dialog_note(r, patient, sender, note, author);
    }
    let header = header(r, patient, sender, author)?;
    let doc = journal_note_document(
        &header,
        &JournalNote {
            id: note.id.clone(),
            version: note.version,
            title: note.title.clone(),
            text: note.text.clone(),
            written_at: format_instant(note.written_at),
        },
    );
    Ok(doc.to_string())
}

/// A closed alert's document, from the alert itself (which may not be committed yet).
pub async fn alert_document(
    store: &Store,
    r: &DocumentRequest<'_>,
    alert: &AlertFacts,
) -> Result<String, DeliveryError> {
    let (patient, sender) = facts(store, r).await?;
    build_alert(store, r, &patient, &sender, alert).await
}

async fn build_alert(
    store: &Store,
    r: &DocumentRequest<'_>,
    patient: &PatientFacts,
    sender: &SenderFacts,
    alert: &AlertFacts,
) -> Result<String, DeliveryError> {
    if r.route.connector == "edi" {
        return Err(DeliveryError::Source(
            "a closed alert is a FHIR document; the EDI route carries notes only".into(),
        ));
    }
    let closed = alert
        .closed_at
        .ok_or_else(|| DeliveryError::Source(format!("alert {} is not closed", alert.id)))?;
    let evidence = observations(store, r.tenant_id, &alert.evidence).await?;
    let author = match &alert.closed_by {
        Some(a) => store.author_facts(r.tenant_id, a).await?,
        None => None,
    };
    let header = header(r, patient, sender, author)?;
    let doc = closed_alert_document(
        &header,
        &ClosedAlert {
            id: alert.id.clone(),
            code: alert.code.clone(),
            detail: alert.detail.clone(),
            identified: format_instant(alert.identified_at),
            closed: format_instant(closed),
            evidence,
        },
    );
    Ok(doc.to_string())
}

/// The patient's national identity number and its kind, which every receiver requires.
fn national_identity(patient: &PatientFacts) -> Result<(String, bool), DeliveryError> {
    let id = patient.national_id.clone().ok_or_else(|| {
        DeliveryError::Source("the patient has no national identity number".into())
    })?;
    match patient.national_id_kind.as_deref() {
        Some("FNR") | None => Ok((id, false)),
        Some("DNR") => Ok((id, true)),
        Some(other) => Err(DeliveryError::Source(format!(
            "the receivers take fødselsnummer or D-nummer, not {other}"
        ))),
    }
}

fn given_names(patient: &PatientFacts) -> Vec<String> {
    patient
        .given_names
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn header(
    r: &DocumentRequest<'_>,
    patient: &PatientFacts,
    sender: &SenderFacts,
    author: Option<(Option<String>, Option<String>)>,
) -> Result<DocumentHeader, DeliveryError> {
    let (national_id, dnr) = national_identity(patient)?;
    Ok(DocumentHeader {
        document_id: r.document_id.to_string(),
        created: format_instant(r.created),
        patient: PatientIdentity {
            national_id,
            kind: if dnr {
                NationalIdKind::Dnr
            } else {
                NationalIdKind::Fnr
            },
            name: patient
                .family_name
                .clone()
                .map(|family| (family, given_names(patient))),
        },
        sender: Organisation {
            org_number: sender.org_number.clone(),
            name: sender.name.clone(),
            her_id: sender.her_id.clone(),
        },
        receiver: Organisation {
            org_number: r.route.receiver_org.clone(),
            name: r.route.receiver_name.clone(),
            her_id: r.route.receiver_her_id.clone(),
        },
        author: author.map(|(hpr_number, name)| Author { hpr_number, name }),
    })
}

fn dialog_note(
    r: &DocumentRequest<'_>,
    patient: &PatientFacts,
    sender: &SenderFacts,
    note: &NoteFacts,
    author: Option<(Option<String>, Option<String>)>,
) -> Result<String, DeliveryError> {
    let (national_id, dnr) = national_identity(patient)?;
    let her = |h: &Option<String>, who: &str| {
        h.clone()
            .ok_or_else(|| DeliveryError::Source(format!("{who} has no HER-id for EDI")))
    };
    let (author_hpr, author_name) = author.unwrap_or_default();
    let message = DialogNote {
        msg_id: r.document_id.to_string(),
        generated: format_instant(r.created),
        sender: Party {
            org_name: sender.name.clone(),
            her_id: her(&sender.her_id, "the sending tenant")?,
            org_number: Some(sender.org_number.clone()),
        },
        receiver: Party {
            org_name: r.route.receiver_name.clone(),
            her_id: her(&r.route.receiver_her_id, "the receiver")?,
            org_number: Some(r.route.receiver_org.clone()),
        },
        patient: PatientIdent {
            national_id,
            kind: if dnr { IdentKind::Dnr } else { IdentKind::Fnr },
            family_name: patient.family_name.clone().unwrap_or_default(),
            given_name: patient.given_names.clone().unwrap_or_default(),
        },
        note: Note {
            document_id: format!("{}-{}", note.id, note.version),
            topic: note.title.clone(),
            text: note.text.clone(),
            written: format_instant(note.written_at),
            author_name,
            author_hpr,
        },
    };
    msghead::write(&message).map_err(|e| DeliveryError::Source(e.to_string()))
}
