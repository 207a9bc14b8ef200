//! Communication: a message thread between a patient and a clinician (helsebro-Communication),
//! the message rules (422 at the element, 400 for core structure) and every search parameter.

use helsebro_blackbox::{on_both_backends, TestServer};
use serde_json::{json, Value};

use crate::observation::{
    create_practitioner, diagnostics, heart_rate, malformed, missing_required, patient_ref,
    round_trip, unprocessable, Cohort,
};
use crate::r4_examples::without;
use crate::rest::{create_patient, id_of, with};

const PROFILE: &str = "http://helsebro.no/fhir/StructureDefinition/helsebro-Communication";
const CATEGORY_SYSTEM: &str = "http://helsebro.no/fhir/CodeSystem/helsebro-communication-category";

// --- helpers ---------------------------------------------------------------------------

fn category(code: &str, display: &str) -> Value {
    json!([{"coding": [{"system": CATEGORY_SYSTEM, "code": code, "display": display}]}])
}

/// A completed message about `patient` from `sender` to `recipient` (references).
pub fn message(patient: &str, sender: &str, recipient: &str, text: &str) -> Value {
    json!({
        "resourceType": "Communication",
        "meta": {"profile": [PROFILE]},
        "status": "completed",
        "category": category("message", "Melding"),
        "subject": {"reference": patient_ref(patient)},
        "sent": "2026-11-20T08:15:00+01:00",
        "recipient": [{"reference": recipient}],
        "sender": {"reference": sender},
        "payload": [{"contentString": text}]
    })
}

/// A patient and a nurse on the server.
struct Parties {
    patient: String,
    nurse: String,
}

impl Parties {
    async fn new(s: &TestServer) -> Self {
        Parties {
            patient: create_patient(s).await,
            nurse: create_practitioner(s).await,
        }
    }

    fn patient_ref(&self) -> String {
        patient_ref(&self.patient)
    }

    fn nurse_ref(&self) -> String {
        format!("Practitioner/{}", self.nurse)
    }

    /// The patient asks the nurse.
    fn question(&self) -> Value {
        let text = "Blodtrykket var høyere enn vanlig i morges. Skal jeg måle igjen?";
        message(&self.patient, &self.patient_ref(), &self.nurse_ref(), text)
    }

    /// The nurse answers `question`.
    fn answer(&self, question: &str) -> Value {
        let text = "Ja, mål igjen i kveld og send resultatet.";
        let answer = message(&self.patient, &self.nurse_ref(), &self.patient_ref(), text);
        let replying_to = json!([{"reference": format!("Communication/{question}")}]);
        with(answer, "inResponseTo", replying_to)
    }
}

// --- create and read ---------------------------------------------------------------------

async fn patient_question_round_trips(s: TestServer) {
    let t = Parties::new(&s).await;
    let mut question = t.question();
    question["received"] = json!("2026-11-20T08:15:02+01:00");
    question["payload"].as_array_mut().expect("payload").push(json!({
        "contentAttachment": {"contentType": "image/jpeg", "url": "Binary/b-1", "title": "blodtrykk.jpg"}
    }));
    round_trip(&s, &question).await;
}

async fn clinician_answer_in_the_thread_round_trips(s: TestServer) {
    let t = Parties::new(&s).await;
    let question = round_trip(&s, &t.question()).await;
    let answer = t.answer(&question);
    round_trip(&s, &answer).await;
}

async fn answer_to_an_unknown_message_is_422(s: TestServer) {
    let t = Parties::new(&s).await;
    let outcome = unprocessable(
        &s,
        &t.answer("no-such-message"),
        &["Communication.inResponseTo[0].reference"],
    )
    .await;
    assert!(
        diagnostics(&outcome).contains("Communication/no-such-message"),
        "{outcome}"
    );
}

async fn message_in_progress_needs_no_sending_time(s: TestServer) {
    let t = Parties::new(&s).await;
    let draft = with(
        without(&t.question(), &["sent"]),
        "status",
        json!("in-progress"),
    );
    round_trip(&s, &draft).await;
}

// --- refused writes ------------------------------------------------------------------------

async fn completed_without_sent_is_422_at_sent(s: TestServer) {
    let t = Parties::new(&s).await;
    let message = without(&t.question(), &["sent"]);
    unprocessable(&s, &message, &["Communication.sent"]).await;
}

async fn unknown_status_is_422_at_status(s: TestServer) {
    let t = Parties::new(&s).await;
    let message = with(t.question(), "status", json!("sendt"));
    unprocessable(&s, &message, &["Communication.status"]).await;
}

async fn missing_status_is_400(s: TestServer) {
    let t = Parties::new(&s).await;
    missing_required(&s, &without(&t.question(), &["status"]), "status").await;
}

async fn unreadable_sending_time_is_400_at_sent(s: TestServer) {
    let t = Parties::new(&s).await;
    malformed(
        &s,
        &with(t.question(), "sent", json!("i går")),
        "Communication.sent",
    )
    .await;
}

async fn message_without_recipient_or_payload_is_422(s: TestServer) {
    let t = Parties::new(&s).await;
    let message = without(&t.question(), &["recipient", "payload"]);
    unprocessable(
        &s,
        &message,
        &["Communication.recipient", "Communication.payload"],
    )
    .await;
}

async fn message_about_no_patient_is_422_at_subject(s: TestServer) {
    let t = Parties::new(&s).await;
    let about_group = with(t.question(), "subject", json!({"reference": "Group/g-1"}));
    unprocessable(&s, &about_group, &["Communication.subject.reference"]).await;
    let about_nobody = without(&t.question(), &["subject"]);
    unprocessable(&s, &about_nobody, &["Communication.subject"]).await;
}

// --- search --------------------------------------------------------------------------------

struct Messages<'a> {
    c: Cohort<'a>,
    t: Parties,
    other_patient: String,
    office: String,
    pulse: String,
    /// patient → nurse, sent 2026-11-20T07:15:00Z, received 07:15:02Z, part of
    /// Encounter/enc-3, based on CommunicationRequest/req-7
    question: String,
    /// nurse → patient, sent 2026-11-20T09:00:00Z
    answer: String,
    /// about the other patient, Device → nurse and office, category alert, sent
    /// 2026-11-21T06:00:00Z, received 06:00:05Z, part of the pulse Observation
    alert: String,
    /// the other patient → nurse, in progress, category notification, not sent
    draft: String,
}

async fn messages(s: &TestServer) -> Messages<'_> {
    let mut c = Cohort::new(s, "Communication");
    let t = Parties::new(s).await;
    let other_patient = create_patient(s).await;
    let office_org = json!({"resourceType": "Organization", "name": "Legekontoret"});
    let office = id_of(&s.create(&office_org).await);
    let pulse = id_of(&s.create(&heart_rate(&other_patient, 128.0)).await);

    let mut question = t.question();
    question["received"] = json!("2026-11-20T08:15:02+01:00");
    question["partOf"] = json!([{"reference": "Encounter/enc-3"}]);
    question["basedOn"] = json!([{"reference": "CommunicationRequest/req-7"}]);
    let question = c.add(question).await;

    let answer = with(
        t.answer(&question),
        "sent",
        json!("2026-11-20T10:00:00+01:00"),
    );
    let answer = c.add(answer).await;

    let text = "Høy puls målt: 128/min";
    let mut alert = message(
        &other_patient,
        "Device/pulsoksymeter-7",
        &t.nurse_ref(),
        text,
    );
    alert["category"] = category("alert", "Alarm");
    alert["sent"] = json!("2026-11-21T06:00:00Z");
    alert["received"] = json!("2026-11-21T06:00:05Z");
    alert["recipient"] = json!([
        {"reference": t.nurse_ref()},
        {"reference": format!("Organization/{office}")}
    ]);
    alert["partOf"] = json!([{"reference": format!("Observation/{pulse}")}]);
    let alert = c.add(alert).await;

    let mut draft = message(
        &other_patient,
        &patient_ref(&other_patient),
        &t.nurse_ref(),
        "Utkast",
    );
    draft["status"] = json!("in-progress");
    draft["category"] = category("notification", "Varsel");
    let draft = c.add(without(&draft, &["sent"])).await;

    Messages {
        c,
        t,
        other_patient,
        office,
        pulse,
        question,
        answer,
        alert,
        draft,
    }
}

async fn patient_finds_the_messages_about_a_patient(s: TestServer) {
    let m = messages(&s).await;
    let thread = [&m.question, &m.answer];
    m.c.expect(&[("patient", &m.t.patient)], &thread).await;
    m.c.expect(&[("patient", &m.t.patient_ref())], &thread)
        .await;
    let other = patient_ref(&m.other_patient);
    m.c.expect(&[("patient", &other)], &[&m.alert, &m.draft])
        .await;
}

async fn subject_finds_the_messages_about_a_patient(s: TestServer) {
    let m = messages(&s).await;
    m.c.expect(
        &[("subject", &m.t.patient_ref())],
        &[&m.question, &m.answer],
    )
    .await;
    m.c.expect(&[("subject", &m.other_patient)], &[&m.alert, &m.draft])
        .await;
}

async fn sender_of_any_type(s: TestServer) {
    let m = messages(&s).await;
    m.c.expect(&[("sender", &m.t.patient_ref())], &[&m.question])
        .await;
    m.c.expect(&[("sender", &m.t.nurse_ref())], &[&m.answer])
        .await;
    m.c.expect(&[("sender", &m.t.nurse)], &[&m.answer]).await;
    m.c.expect(&[("sender", "Device/pulsoksymeter-7")], &[&m.alert])
        .await;
    m.c.expect(&[("sender", &patient_ref(&m.other_patient))], &[&m.draft])
        .await;
}

async fn recipient_matches_any_of_the_recipients(s: TestServer) {
    let m = messages(&s).await;
    m.c.expect(
        &[("recipient", &m.t.nurse_ref())],
        &[&m.question, &m.alert, &m.draft],
    )
    .await;
    let office = format!("Organization/{}", m.office);
    m.c.expect(&[("recipient", &office)], &[&m.alert]).await;
    m.c.expect(&[("recipient", &m.t.patient_ref())], &[&m.answer])
        .await;
}

async fn sent_by_day_instant_and_prefix(s: TestServer) {
    let m = messages(&s).await;
    m.c.expect(&[("sent", "2026-11-20")], &[&m.question, &m.answer])
        .await;
    m.c.expect(&[("sent", "2026-11-20T07:15:00Z")], &[&m.question])
        .await;
    m.c.expect(&[("sent", "lt2026-11-20T09:00:00+01:00")], &[&m.question])
        .await;
    m.c.expect(&[("sent", "ge2026-11-21")], &[&m.alert]).await;
    m.c.expect(&[("sent:missing", "true")], &[&m.draft]).await;
}

async fn received_by_instant_prefix_and_missing(s: TestServer) {
    let m = messages(&s).await;
    m.c.expect(&[("received", "2026-11-20")], &[&m.question])
        .await;
    m.c.expect(&[("received", "gt2026-11-21T06:00:00Z")], &[&m.alert])
        .await;
    m.c.expect(&[("received:missing", "true")], &[&m.answer, &m.draft])
        .await;
}

async fn status_equals_and_not(s: TestServer) {
    let m = messages(&s).await;
    m.c.expect(
        &[("status", "completed")],
        &[&m.question, &m.answer, &m.alert],
    )
    .await;
    m.c.expect(&[("status", "in-progress")], &[&m.draft]).await;
    m.c.expect(&[("status:not", "completed")], &[&m.draft])
        .await;
}

async fn category_by_system_and_code(s: TestServer) {
    let m = messages(&s).await;
    let alert = format!("{CATEGORY_SYSTEM}|alert");
    m.c.expect(&[("category", &alert)], &[&m.alert]).await;
    m.c.expect(&[("category", "message")], &[&m.question, &m.answer])
        .await;
    m.c.expect(
        &[("category", "message,notification")],
        &[&m.question, &m.answer, &m.draft],
    )
    .await;
    m.c.expect(&[("category", "urn:example:other|alert")], &[])
        .await;
}

async fn part_of_served_and_other_types(s: TestServer) {
    let m = messages(&s).await;
    m.c.expect(&[("part-of", "Encounter/enc-3")], &[&m.question])
        .await;
    m.c.expect(&[("part-of", "enc-3")], &[&m.question]).await;
    let observation = format!("Observation/{}", m.pulse);
    m.c.expect(&[("part-of", &observation)], &[&m.alert]).await;
    m.c.expect(&[("part-of:missing", "true")], &[&m.answer, &m.draft])
        .await;
}

async fn based_on_the_request(s: TestServer) {
    let m = messages(&s).await;
    m.c.expect(
        &[("based-on", "CommunicationRequest/req-7")],
        &[&m.question],
    )
    .await;
    m.c.expect(&[("based-on", "CommunicationRequest/req-8")], &[])
        .await;
    m.c.expect(
        &[("based-on:missing", "true")],
        &[&m.answer, &m.alert, &m.draft],
    )
    .await;
}

on_both_backends!(
    patient_question_round_trips,
    clinician_answer_in_the_thread_round_trips,
    answer_to_an_unknown_message_is_422,
    message_in_progress_needs_no_sending_time,
    completed_without_sent_is_422_at_sent,
    unknown_status_is_422_at_status,
    missing_status_is_400,
    unreadable_sending_time_is_400_at_sent,
    message_without_recipient_or_payload_is_422,
    message_about_no_patient_is_422_at_subject,
    patient_finds_the_messages_about_a_patient,
    subject_finds_the_messages_about_a_patient,
    sender_of_any_type,
    recipient_matches_any_of_the_recipients,
    sent_by_day_instant_and_prefix,
    received_by_instant_prefix_and_missing,
    status_equals_and_not,
    category_by_system_and_code,
    part_of_served_and_other_types,
    based_on_the_request,
);
