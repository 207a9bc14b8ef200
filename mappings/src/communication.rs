//! Communication ↔ the platform's message record, following Helsebro's own profile
//! ([`PROFILE`], in `profiles/data/helsebro-Communication.StructureDefinition.json`): HL7
//! Norway has no national Communication profile.
//!
//! The record holds what the platform's messaging works with (patient, thread, sender,
//! recipients, text, how many attachments, times, status, category); the snapshot keeps the
//! rest, and [`communication_to_fhir`] patches only what differs.

use serde_json::{json, Map, Value};

use crate::index::{split_reference, ParamKind, SearchParamDef, PARAM};
use crate::json::{array_mut, drop_if_empty, items, object_mut, set_or_remove, str_of};
use crate::patient::TenantContext;
use crate::resource_parts::{
    check_code, check_patient_subject, patch_slot, reference_at, set_reference, snapshot_or_fresh,
    subject_patient_id,
};
use crate::{MappingError, MappingIssue};

pub const PROFILE: &str = "http://helsebro.no/fhir/StructureDefinition/helsebro-Communication";
pub const CATEGORY_SYSTEM: &str =
    "http://helsebro.no/fhir/CodeSystem/helsebro-communication-category";
pub const CATEGORY_VALUE_SET: &str =
    "http://helsebro.no/fhir/ValueSet/helsebro-communication-category";
/// Helsebro's message categories (code, Norwegian display), as in the CodeSystem next to the
/// profile.
pub const CATEGORIES: &[(&str, &str)] = &[
    ("message", "Melding"),
    ("notification", "Varsel"),
    ("alert", "Alarm"),
];
/// R4 event-status, the required binding of `Communication.status`.
const STATUSES: &[&str] = &[
    "preparation",
    "in-progress",
    "not-done",
    "on-hold",
    "stopped",
    "completed",
    "entered-in-error",
    "unknown",
];

/// The platform's record of a message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageRecord {
    /// The id of the patient the message is about (`subject` = `Patient/{id}`).
    pub patient_id: Option<String>,
    /// The id of the message that opened the thread: the first `inResponseTo`, or the
    /// message's own id when it answers nothing.
    pub thread_id: Option<String>,
    /// The sender's reference as written (`Practitioner/…`, `Patient/…`).
    pub sender: Option<String>,
    /// The recipients' references as written; recipients named only by identifier are kept in
    /// the snapshot but not listed here.
    pub recipients: Vec<String>,
    /// The first text part.
    pub text: Option<String>,
    /// The platform stores attachments itself; the resource shows one payload per attachment.
    pub attachment_count: usize,
    /// dateTime as written.
    pub sent: Option<String>,
    pub received: Option<String>,
    pub status: String,
    /// The first category's code (one of [`CATEGORIES`] for the platform's own messages).
    pub category: Option<String>,
}

pub const SEARCH_PARAMS: &[SearchParamDef] = &[
    SearchParamDef {
        name: "patient",
        kind: ParamKind::Reference,
        paths: &["subject"],
        definition: "http://hl7.org/fhir/SearchParameter/Communication-patient",
        documentation: "The patient the message is about",
        targets: &["Patient"],
    },
    SearchParamDef {
        name: "subject",
        kind: ParamKind::Reference,
        paths: &["subject"],
        definition: "http://hl7.org/fhir/SearchParameter/Communication-subject",
        documentation: "Focus of the message",
        ..PARAM
    },
    SearchParamDef {
        name: "sender",
        kind: ParamKind::Reference,
        paths: &["sender"],
        definition: "http://hl7.org/fhir/SearchParameter/Communication-sender",
        documentation: "Who sent the message",
        ..PARAM
    },
    SearchParamDef {
        name: "recipient",
        kind: ParamKind::Reference,
        paths: &["recipient"],
        definition: "http://hl7.org/fhir/SearchParameter/Communication-recipient",
        documentation: "Who the message is for",
        ..PARAM
    },
    SearchParamDef {
        name: "sent",
        kind: ParamKind::Date,
        paths: &["sent"],
        definition: "http://hl7.org/fhir/SearchParameter/Communication-sent",
        documentation: "When the message was sent",
        ..PARAM
    },
    SearchParamDef {
        name: "received",
        kind: ParamKind::Date,
        paths: &["received"],
        definition: "http://hl7.org/fhir/SearchParameter/Communication-received",
        documentation: "When the message was received",
        ..PARAM
    },
    SearchParamDef {
        name: "status",
        kind: ParamKind::Token,
        paths: &["status"],
        definition: "http://hl7.org/fhir/SearchParameter/Communication-status",
        documentation: "preparation | in-progress | not-done | on-hold | stopped | completed | entered-in-error | unknown",
        ..PARAM
    },
    SearchParamDef {
        name: "category",
        kind: ParamKind::Token,
        paths: &["category"],
        definition: "http://hl7.org/fhir/SearchParameter/Communication-category",
        documentation: "Message category (message | notification | alert)",
        ..PARAM
    },
    SearchParamDef {
        name: "part-of",
        kind: ParamKind::Reference,
        paths: &["partOf"],
        definition: "http://hl7.org/fhir/SearchParameter/Communication-part-of",
        documentation: "The event the message is part of",
        ..PARAM
    },
    SearchParamDef {
        name: "based-on",
        kind: ParamKind::Reference,
        paths: &["basedOn"],
        definition: "http://hl7.org/fhir/SearchParameter/Communication-based-on",
        documentation: "The request the message fulfils",
        ..PARAM
    },
];

/// Maps a Communication to the platform record. A message belongs to one patient on this
/// server, names a recipient, carries something, and once completed has its sending time.
/// Sender and recipient types and `contentReference` payloads are not judged: the profile
/// narrows them, but the record does not depend on them.
pub fn communication_from_fhir(
    resource: &Value,
    _tenant: &TenantContext,
) -> Result<MessageRecord, MappingError> {
    let mut issues = Vec::new();
    check_code(resource, "Communication", "status", STATUSES, &mut issues);
    check_patient_subject(resource, "Communication", &mut issues);
    let mut require = |present: bool, element: &str, message: &str| {
        if !present {
            issues.push(MappingIssue {
                expression: format!("Communication.{element}"),
                message: message.to_string(),
            });
        }
    };
    require(
        !items(resource, "recipient").is_empty(),
        "recipient",
        "a message names at least one recipient",
    );
    require(
        !items(resource, "payload").is_empty(),
        "payload",
        "a message carries text or an attachment (payload)",
    );
    require(
        str_of(resource, "status") != Some("completed") || resource.get("sent").is_some(),
        "sent",
        "a completed message has the time it was sent (hbcom-1)",
    );
    if !issues.is_empty() {
        return Err(MappingError { issues });
    }
    Ok(read_record(resource))
}

fn read_record(resource: &Value) -> MessageRecord {
    let payload = items(resource, "payload");
    let owned = |key: &str| str_of(resource, key).map(str::to_string);
    MessageRecord {
        patient_id: subject_patient_id(resource),
        thread_id: first_reply_target(resource).or_else(|| owned("id")),
        sender: reference_at(resource, "sender").map(str::to_string),
        recipients: items(resource, "recipient")
            .into_iter()
            .filter_map(|r| str_of(r, "reference"))
            .map(str::to_string)
            .collect(),
        text: payload
            .iter()
            .find_map(|p| str_of(p, "contentString"))
            .map(str::to_string),
        attachment_count: payload.iter().filter(|p| is_attachment(p)).count(),
        sent: owned("sent"),
        received: owned("received"),
        status: owned("status").unwrap_or_default(),
        category: items(resource, "category")
            .first()
            .and_then(|c| items(c, "coding").first().copied())
            .and_then(|c| str_of(c, "code"))
            .map(str::to_string),
    }
}

/// The id of the message this one answers; a reference that is not `Type/id` counts as a
/// whole.
fn first_reply_target(resource: &Value) -> Option<String> {
    let reference = items(resource, "inResponseTo")
        .into_iter()
        .find_map(|r| str_of(r, "reference"))?;
    Some(
        split_reference(reference)
            .1
            .unwrap_or_else(|| reference.to_string()),
    )
}

fn is_attachment(payload: &Value) -> bool {
    payload.get("contentAttachment").is_some()
}

fn is_text(payload: &Value) -> bool {
    payload.get("contentString").is_some()
}

/// Builds the Communication the record describes; with `base` (the stored snapshot) only the
/// elements whose record value differs are rewritten.
pub fn communication_to_fhir(
    record: &MessageRecord,
    base: Option<&Value>,
    _tenant: &TenantContext,
) -> Value {
    let mut resource = snapshot_or_fresh(base, "Communication", PROFILE);
    let current = read_record(&resource);
    let own_id = str_of(&resource, "id").map(str::to_string);
    let obj = object_mut(&mut resource);
    if current.thread_id != record.thread_id {
        patch_thread(obj, record.thread_id.as_deref(), own_id.as_deref());
    }
    if current.status != record.status {
        let status = Some(&record.status).filter(|s| !s.is_empty());
        set_or_remove(obj, "status", status.map(|s| json!(s)));
    }
    if current.category != record.category {
        patch_category(obj, record.category.as_deref());
    }
    if current.patient_id != record.patient_id {
        let subject = record.patient_id.as_ref().map(|id| format!("Patient/{id}"));
        set_reference(obj, "subject", subject.as_deref());
    }
    for (key, old, new) in [
        ("sent", &current.sent, &record.sent),
        ("received", &current.received, &record.received),
    ] {
        if old != new {
            set_or_remove(obj, key, new.clone().map(Value::String));
        }
    }
    if current.recipients != record.recipients {
        patch_recipients(obj, &record.recipients);
    }
    if current.sender != record.sender {
        set_reference(obj, "sender", record.sender.as_deref());
    }
    if current.text != record.text {
        let text = record.text.as_ref().map(|t| json!({"contentString": t}));
        patch_slot(obj, "payload", is_text, text);
    }
    if current.attachment_count != record.attachment_count {
        patch_attachments(obj, record.attachment_count);
    }
    resource
}

/// A message that opens its own thread answers nothing.
fn patch_thread(obj: &mut Map<String, Value>, thread: Option<&str>, own_id: Option<&str>) {
    let Some(thread) = thread.filter(|t| Some(*t) != own_id) else {
        obj.shift_remove("inResponseTo");
        return;
    };
    let replies = array_mut(obj, "inResponseTo");
    let reply = json!({"reference": format!("Communication/{thread}")});
    match replies.iter().position(|r| r.get("reference").is_some()) {
        Some(i) => replies[i] = reply,
        None => replies.insert(0, reply),
    }
}

fn patch_category(obj: &mut Map<String, Value>, code: Option<&str>) {
    let Some(code) = code else {
        obj.shift_remove("category");
        return;
    };
    let coding = match CATEGORIES.iter().find(|(c, _)| *c == code) {
        Some((_, display)) => json!({"system": CATEGORY_SYSTEM, "code": code, "display": display}),
        None => json!({"code": code}),
    };
    let concept = json!({"coding": [coding]});
    let categories = array_mut(obj, "category");
    match categories.first_mut() {
        Some(first) => *first = concept,
        None => categories.push(concept),
    }
}

/// Recipients follow the record's order; each keeps what it had beside its reference (a
/// display), and those named only by identifier stay at the end.
fn patch_recipients(obj: &mut Map<String, Value>, recipients: &[String]) {
    let list = array_mut(obj, "recipient");
    let (mut referenced, unreferenced): (Vec<Value>, Vec<Value>) = std::mem::take(list)
        .into_iter()
        .partition(|r| r.get("reference").is_some());
    for reference in recipients {
        let same = referenced
            .iter()
            .position(|r| str_of(r, "reference") == Some(reference.as_str()));
        list.push(match same {
            Some(i) => referenced.remove(i),
            None => json!({"reference": reference}),
        });
    }
    list.extend(unreferenced);
    drop_if_empty(obj, "recipient");
}

/// Attachments beyond the record's count go from the end; missing ones appear as titled
/// placeholders until the platform fills in their content.
fn patch_attachments(obj: &mut Map<String, Value>, count: usize) {
    let payload = array_mut(obj, "payload");
    let mut kept = 0;
    payload.retain(|p| {
        if !is_attachment(p) {
            return true;
        }
        kept += 1;
        kept <= count
    });
    for n in kept + 1..=count {
        payload.push(json!({"contentAttachment": {"title": format!("Vedlegg {n}")}}));
    }
    drop_if_empty(obj, "payload");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource_parts::test_support::{
        assert_snapshot_round_trip, assert_valid_r4, indexed, issues_of,
    };

    fn tenant() -> TenantContext {
        TenantContext::default()
    }

    fn from(resource: &Value) -> Result<MessageRecord, MappingError> {
        communication_from_fhir(resource, &tenant())
    }

    fn to(record: &MessageRecord, base: Option<&Value>) -> Value {
        communication_to_fhir(record, base, &tenant())
    }

    fn question_to_nurse() -> Value {
        json!({
            "resourceType": "Communication",
            "id": "msg-1002",
            "meta": {"profile": [PROFILE]},
            "basedOn": [{"reference": "CommunicationRequest/req-7"}],
            "partOf": [{"reference": "Encounter/enc-3"}],
            "inResponseTo": [{"reference": "Communication/msg-1001"}],
            "status": "completed",
            "category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": "message", "display": "Melding"}]}],
            "subject": {"reference": "Patient/p-81f3"},
            "sent": "2026-11-20T08:15:00+01:00",
            "received": "2026-11-20T08:15:02+01:00",
            "recipient": [
                {"reference": "Practitioner/pr-17", "display": "Sykepleier Kari Nordmann"},
                {"reference": "Organization/org-4601"}
            ],
            "sender": {"reference": "Patient/p-81f3", "display": "Ola Nordmann"},
            "payload": [
                {"contentString": "Blodtrykket var høyere enn vanlig i morges. Skal jeg måle igjen?"},
                {"contentAttachment": {"contentType": "image/jpeg", "url": "Binary/b-1", "title": "blodtrykksmåler.jpg"}}
            ]
        })
    }

    // The R4 examples Communication-example and Communication-fm-solicited (narrative left
    // out): a Device sender, a contentReference payload and contained parties, which the
    // profile does not allow but the mapping accepts.
    const R4_EXAMPLE: &str = r#"{"resourceType": "Communication", "id": "example", "identifier": [{"type": {"text": "Paging System"}, "system": "urn:oid:1.3.4.5.6.7", "value": "2345678901"}], "instantiatesUri": ["http://example.org/hyperkalemia"], "partOf": [{"display": "Serum Potassium Observation"}], "status": "completed", "category": [{"coding": [{"system": "http://acme.org/messagetypes", "code": "Alert"}], "text": "Alert"}], "medium": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode", "code": "WRITTEN", "display": "written"}], "text": "written"}], "subject": {"reference": "Patient/example"}, "encounter": {"reference": "Encounter/example"}, "sent": "2014-12-12T18:01:10-08:00", "received": "2014-12-12T18:01:11-08:00", "recipient": [{"reference": "Practitioner/example"}], "sender": {"reference": "Device/f001"}, "payload": [{"contentString": "Patient 1 has a very high serum potassium value (7.2 mmol/L on 2014-Dec-12 at 5:55 pm)"}, {"contentReference": {"display": "Serum Potassium Observation"}}]}"#;
    const R4_FM_SOLICITED: &str = r##"{"resourceType": "Communication", "id": "fm-solicited", "contained": [{"resourceType": "Organization", "id": "provider", "identifier": [{"system": "http://www.jurisdiction.com/provideroffices", "value": "3456"}]}, {"resourceType": "Organization", "id": "payor", "identifier": [{"system": "http://www.jurisdiction.com/insurer", "value": "123456"}]}, {"resourceType": "CommunicationRequest", "id": "request", "identifier": [{"system": "http://www.jurisdiction.com/insurer/123456", "value": "ABC123"}], "status": "completed", "subject": {"reference": "Patient/1"}}], "identifier": [{"system": "http://www.providerco.com/communication", "value": "12345"}], "basedOn": [{"reference": "#request"}], "status": "completed", "category": [{"coding": [{"system": "http://acme.org/messagetypes", "code": "SolicitedAttachment"}]}], "subject": {"reference": "Patient/1"}, "sent": "2016-06-12T18:01:10-08:00", "recipient": [{"reference": "#payor"}], "sender": {"reference": "#provider"}, "payload": [{"contentAttachment": {"contentType": "application/pdf", "data": "SGVsbG8=", "title": "accident notes 20100201.pdf", "creation": "2010-02-01T11:50:23-05:00"}}, {"contentAttachment": {"contentType": "application/pdf", "url": "http://happyvalley.com/docs/AB12345", "size": 104274, "hash": "SGVsbG8gdGhlcmU=", "creation": "2010-02-01T10:57:34+01:00"}}]}"##;

    #[test]
    fn reads_every_modeled_field() {
        assert_eq!(
            from(&question_to_nurse()).unwrap(),
            MessageRecord {
                patient_id: Some("p-81f3".into()),
                thread_id: Some("msg-1001".into()),
                sender: Some("Patient/p-81f3".into()),
                recipients: vec!["Practitioner/pr-17".into(), "Organization/org-4601".into()],
                text: Some(
                    "Blodtrykket var høyere enn vanlig i morges. Skal jeg måle igjen?".into()
                ),
                attachment_count: 1,
                sent: Some("2026-11-20T08:15:00+01:00".into()),
                received: Some("2026-11-20T08:15:02+01:00".into()),
                status: "completed".into(),
                category: Some("message".into()),
            }
        );
    }

    #[test]
    fn record_to_fhir_and_back_is_the_same_record() {
        let record = from(&question_to_nurse()).unwrap();
        let fresh = to(&record, None);
        assert_eq!(fresh["meta"]["profile"][0], PROFILE);
        assert_valid_r4(&fresh);
        assert_eq!(fresh["category"][0]["coding"][0]["display"], "Melding");
        assert_eq!(
            fresh["payload"][1]["contentAttachment"]["title"],
            "Vedlegg 1"
        );
        assert_eq!(from(&fresh).unwrap(), record);
        // The message that opened the thread (msg-1001 itself) answers nothing.
        let base = json!({"resourceType": "Communication", "id": "msg-1001"});
        let opening = to(&record, Some(&base));
        assert!(opening.get("inResponseTo").is_none(), "{opening}");
        assert_eq!(from(&opening).unwrap(), record);
    }

    #[test]
    fn unchanged_records_give_back_the_resource_as_written() {
        assert_snapshot_round_trip(&question_to_nurse(), from, to);
        let example =
            assert_snapshot_round_trip(&serde_json::from_str(R4_EXAMPLE).unwrap(), from, to);
        assert_eq!(example.sender.as_deref(), Some("Device/f001"));
        assert_eq!(example.thread_id.as_deref(), Some("example"));
        assert_eq!(example.category.as_deref(), Some("Alert"));
        let solicited =
            assert_snapshot_round_trip(&serde_json::from_str(R4_FM_SOLICITED).unwrap(), from, to);
        assert_eq!(solicited.recipients, ["#payor"]);
        assert_eq!(solicited.attachment_count, 2);
        assert_eq!(solicited.text, None);
    }

    #[test]
    fn a_changed_record_patches_only_its_fields() {
        let written = question_to_nurse();
        let mut record = from(&written).unwrap();
        record.recipients = vec![
            "Organization/org-4601".into(),
            "PractitionerRole/role-2".into(),
        ];
        record.category = Some("alert".into());
        record.text = Some("Ny måling: 182/110".into());
        record.attachment_count = 0;
        record.received = None;
        let out = to(&record, Some(&written));
        assert_valid_r4(&out);
        assert_eq!(
            out["recipient"],
            json!([{"reference": "Organization/org-4601"}, {"reference": "PractitionerRole/role-2"}])
        );
        assert_eq!(
            out["category"],
            json!([{"coding": [{"system": CATEGORY_SYSTEM, "code": "alert", "display": "Alarm"}]}])
        );
        assert_eq!(
            out["payload"],
            json!([{"contentString": "Ny måling: 182/110"}])
        );
        assert!(out.get("received").is_none());
        for key in [
            "id",
            "basedOn",
            "partOf",
            "inResponseTo",
            "status",
            "subject",
            "sent",
            "sender",
        ] {
            assert_eq!(out[key], written[key], "{key}");
        }
        assert_eq!(from(&out).unwrap(), record);

        record.thread_id = Some("msg-1002".into());
        record.sender = Some("Practitioner/pr-17".into());
        let out = to(&record, Some(&written));
        assert!(out.get("inResponseTo").is_none(), "opens its own thread");
        assert_eq!(out["sender"], json!({"reference": "Practitioner/pr-17"}));
        assert_eq!(from(&out).unwrap(), record);
    }

    #[test]
    fn message_rules_are_named_with_their_paths() {
        let mut m = question_to_nurse();
        for key in ["sent", "recipient", "payload"] {
            m.as_object_mut().unwrap().shift_remove(key);
        }
        m["subject"] = json!({"reference": "Group/g-1"});
        assert_eq!(
            issues_of(from(&m)),
            [
                "Communication.subject.reference",
                "Communication.recipient",
                "Communication.payload",
                "Communication.sent",
            ]
        );
        // Without `completed`, no sending time is needed; a status must still be a code.
        let mut m = question_to_nurse();
        m["status"] = json!("in-progress");
        m.as_object_mut().unwrap().shift_remove("sent");
        assert!(from(&m).is_ok());
        m["status"] = json!("sendt");
        m.as_object_mut().unwrap().shift_remove("subject");
        assert_eq!(
            issues_of(from(&m)),
            ["Communication.status", "Communication.subject"]
        );
    }

    #[test]
    fn search_parameters_index_every_element() {
        let m = question_to_nurse();
        let at = |param| indexed(&m, SEARCH_PARAMS, param);
        assert_eq!(at("patient"), ["Patient/p-81f3"]);
        assert_eq!(at("subject"), ["Patient/p-81f3"]);
        assert_eq!(at("sender"), ["Patient/p-81f3"]);
        assert_eq!(
            at("recipient"),
            ["Practitioner/pr-17", "Organization/org-4601"]
        );
        assert_eq!(
            at("sent"),
            ["2026-11-20T07:15:00.000Z..2026-11-20T07:15:00.999Z"]
        );
        assert_eq!(at("received").len(), 1);
        assert_eq!(at("status"), ["completed"]);
        // The code, and its display for `:text`.
        assert_eq!(
            at("category"),
            [format!("{CATEGORY_SYSTEM}|message"), "melding".into()]
        );
        assert_eq!(at("part-of"), ["Encounter/enc-3"]);
        assert_eq!(at("based-on"), ["CommunicationRequest/req-7"]);
    }
}
