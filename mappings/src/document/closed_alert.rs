//! A closed DHO alert as a document: the Composition, the alert as a vkp-DetectedIssue-v090,
//! and the Observations that raised it.

use serde_json::{json, Map, Value};

use super::composition::{
    copy_observations, document, entry_reference, escape, non_empty, norwegian_time,
    observation_table, paragraphs, patient_reference, practitioner_reference, record_identifier,
    section, DocumentIds, Skeleton, EVENT_KVITTERT, SECTION_HENDELSE, TYPE_JOURNALNOTAT,
};
use super::{
    ClosedAlert, DocumentHeader, ALERT_CODE_SYSTEM, COMPOSITION_EVENT_SYSTEM, VKP_DETECTED_ISSUE,
};

/// The codes of vkp-alert-code-v090 with their displays, as in the code system.
const ALERT_CODES: &[(&str, &str)] = &[
    ("1", "Elektronisk medisineringsstøtte"),
    ("1.1", "Ikke utlevert"),
    ("1.2", "Utlevering forhindret av medisinmangel"),
    ("1.3", "Mangler utleveringsbekreftelse"),
    ("1.4", "Melding ikke lest"),
    ("1.5", "Teknisk feil"),
    ("1.6", "Pose ikke lest"),
    ("1.7", "Feil ved rull"),
    ("1.8", "Rull sitter fast"),
    ("1.9", "Full skuff"),
    ("1.10", "Medisin venter"),
    ("1.11", "Mangler tilstrekkelig mengde medisin"),
    ("1.12", "Snart tomt for medisin"),
    ("1.13", "Tomt for medisin"),
    ("1.14", "Mangler tidsplan"),
    ("1.15", "Endringskontroll av medisinplan"),
    ("1.16", "Rull behandlet"),
    ("1.17", "Batteri lavt"),
    ("1.18", "Batteri tomt"),
    ("1.19", "Ikke tilkoblet strøm"),
    ("1.20", "Ingen kontakt"),
    ("1.21", "Dispenser åpen"),
    ("1.22", "Innbrudd"),
    ("1.23", "Dosett feilplassert"),
    ("2", "Lokaliseringsteknologi"),
    ("3", "Trygghetsalarm"),
    ("4", "Digitalt tilsyn"),
    ("4.1", "Fall"),
    ("4.2", "Forlatt sengen"),
    ("4.3", "Satt seg opp seng"),
    ("4.4", "Reist seg fra stol"),
    ("4.5", "Kommet inn rom"),
    ("4.6", "Forlatt rom"),
    ("4.7", "Uventet langt opphold"),
    ("4.8", "Aktivitet rom"),
    ("4.9", "Inaktivitet"),
    ("4.10", "Høyt lydnivå"),
    ("4.11", "Brannalarm"),
    ("4.12", "Fravær"),
    ("4.13", "Knappetrykk"),
    ("4.14", "Snortrekk"),
    ("4.15", "Dør åpnet"),
    ("4.16", "Dør lukket"),
    ("4.17", "Vannalarm"),
    ("4.18", "Bevegelse"),
    ("4.19", "Manglende bevegelse"),
    ("4.20", "Lagt seg seng"),
    ("4.21", "Forlatt bolig"),
    ("4.22", "Mislykket brukeranrop"),
    ("4.23", "Inaktivitet bad"),
    ("4.24", "Epilepsi"),
    ("4.25", "Hendelsesbasert kameratilsyn"),
    ("4.26", "Planlagt kameratilsyn"),
    ("5", "Digital hjemmeoppfølging"),
    ("5.1", "Oppsummerende varsel"),
    ("5.2", "Handling utført"),
    ("5.2.1", "Måledata rapportert"),
    ("5.2.2", "Skjemabesvarelse"),
    ("5.2.3", "Annen handling utført"),
    ("5.3", "Inaktiv pasient"),
    ("5.3.1", "Manglende skjemabesvarelse"),
    ("5.3.2", "Måling ikke rapportert"),
    ("6", "Elektronisk dørlås"),
    ("7", "Sykesignalanlegg"),
    ("7.1", "Inkontinens"),
];

/// The text of `DetectedIssue.mitigation.action`: the closure of the alert. The VKP profile
/// says nothing about closure, and the preferred ValueSet (v3 ActDetectedIssueManagementCode)
/// has no code for it, so the action is text only.
const CLOSED_ACTION: &str = "Varsel lukket";

/// The Norwegian display of a vkp-alert-code-v090 code, `None` for a code not in it.
pub fn alert_display(code: &str) -> Option<&'static str> {
    ALERT_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, display)| *display)
}

/// The document Bundle of a closed alert.
///
/// - `Composition.type` B02-2 Journalnotat (Volven 9602): VKP journals the closure of an
///   alert as a note in the patient's record; the 9602 list has no type for alerts or
///   events, and its chart (F) and correspondence (I) groups fit worse.
/// - `event`: code 3 "hendelse kvittert" ("Hendelsen ble kvittert ut"), the period from when
///   the alert was raised to when it was closed, and the DetectedIssue as `detail`.
/// - One section, code 1.2 "beskrivelse av hendelse": the alert, its times, its detail and a
///   table of the evidence; `entry` the DetectedIssue and the evidence Observations.
/// - The DetectedIssue (vkp-DetectedIssue-v090): status `final`, `code` from
///   vkp-alert-code-v090, the patient's logical identifier, `identifiedDateTime`, `detail`,
///   one `evidence` per Observation. The profile has no element for the closure; it is
///   recorded as a `mitigation` (action "Varsel lukket", `date` the closing time, `author`
///   the practitioner when the header names one) and by the Composition's event.
///   `DetectedIssue.author` (who raised the issue: the platform or a device) is left out.
pub fn closed_alert_document(h: &DocumentHeader, a: &ClosedAlert) -> Value {
    let ids = DocumentIds::new(&h.document_id);
    let code = a.code.trim();
    let display = alert_display(code);
    let issue_url = ids.full_url("DetectedIssue");
    let evidence = copy_observations(&ids, &h.patient, &a.evidence);
    let practitioner = practitioner_reference(h);

    let mut coding = json!({"system": ALERT_CODE_SYSTEM, "code": code});
    if let Some(d) = display {
        coding["display"] = json!(d);
    }
    let mut issue = Map::new();
    issue.insert("resourceType".into(), json!("DetectedIssue"));
    issue.insert("meta".into(), json!({"profile": [VKP_DETECTED_ISSUE]}));
    issue.insert(
        "identifier".into(),
        json!([record_identifier(h, "alert", a.id.trim())]),
    );
    issue.insert("status".into(), json!("final"));
    issue.insert("code".into(), json!({"coding": [coding]}));
    issue.insert("patient".into(), patient_reference(&h.patient));
    if let Some(identified) = non_empty(&a.identified) {
        issue.insert("identifiedDateTime".into(), json!(identified.trim()));
    }
    if !evidence.is_empty() {
        let list: Vec<Value> = evidence
            .iter()
            .map(|e| json!({"detail": [entry_reference(&e.full_url)]}))
            .collect();
        issue.insert("evidence".into(), Value::Array(list));
    }
    if let Some(detail) = non_empty(&a.detail) {
        issue.insert("detail".into(), json!(detail.trim()));
    }
    if let Some(closed) = non_empty(&a.closed) {
        let mut m = json!({"action": {"text": CLOSED_ACTION}, "date": closed.trim()});
        if let Some(p) = &practitioner {
            m["author"] = p.clone();
        }
        issue.insert("mitigation".into(), json!([m]));
    }

    let name = display.unwrap_or(code);
    let mut xhtml = format!("<p>Varsel: {} ({})</p>", escape(name), escape(code));
    let mut times = Vec::new();
    if let Some(t) = non_empty(&a.identified) {
        times.push(format!("Oppstått: {}.", escape(&norwegian_time(t))));
    }
    if let Some(t) = non_empty(&a.closed) {
        times.push(format!("Lukket: {}.", escape(&norwegian_time(t))));
    }
    if !times.is_empty() {
        xhtml.push_str(&format!("<p>{}</p>", times.join(" ")));
    }
    xhtml.push_str(&paragraphs(&a.detail));
    if !evidence.is_empty() {
        xhtml.push_str("<p>Grunnlag for varselet:</p>");
        xhtml.push_str(&observation_table(&evidence));
    }

    let mut period = Map::new();
    if let Some(t) = non_empty(&a.identified) {
        period.insert("start".into(), json!(t.trim()));
    }
    if let Some(t) = non_empty(&a.closed) {
        period.insert("end".into(), json!(t.trim()));
    }
    let mut event = json!({
        "code": [{"coding": [super::composition::coding(COMPOSITION_EVENT_SYSTEM, EVENT_KVITTERT)]}],
    });
    if !period.is_empty() {
        event["period"] = Value::Object(period);
    }
    event["detail"] = json!([entry_reference(&issue_url)]);

    let mut entries = vec![issue_url.clone()];
    entries.extend(evidence.iter().map(|e| e.full_url.clone()));
    let skeleton = Skeleton {
        type_code: TYPE_JOURNALNOTAT,
        title: format!("Avsluttet varsel: {name}"),
        date: non_empty(&a.closed).unwrap_or(&h.created).to_string(),
        identifier: Some(record_identifier(h, "closed-alert", a.id.trim())),
        events: vec![event],
        sections: vec![section(SECTION_HENDELSE, &xhtml, &entries)],
    };
    let mut resources = vec![(issue_url, Value::Object(issue))];
    resources.extend(evidence.into_iter().map(|e| (e.full_url, e.resource)));
    document(h, &ids, skeleton, resources)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::testkit::{self, blood_pressure, header, heart_rate};
    use crate::document::NationalIdKind;

    fn alert() -> ClosedAlert {
        ClosedAlert {
            id: "alert-42".into(),
            code: "5.3.2".into(),
            detail: "Blodtrykk ikke målt på tre dager.".into(),
            identified: "2024-03-04T09:00:00+01:00".into(),
            closed: "2024-03-04T11:30:00+01:00".into(),
            evidence: vec![heart_rate(), blood_pressure()],
        }
    }

    fn issue(doc: &Value) -> &Value {
        &doc["entry"][1]["resource"]
    }

    #[test]
    fn closed_alert_is_a_document_with_the_required_elements() {
        let doc = closed_alert_document(&header(), &alert());
        testkit::assert_valid_document(&doc);
        let c = &doc["entry"][0]["resource"];
        assert_eq!(c["type"]["coding"][0]["code"], "B02-2");
        assert_eq!(c["title"], "Avsluttet varsel: Måling ikke rapportert");
        assert_eq!(c["date"], "2024-03-04T11:30:00+01:00");
        let entries = doc["entry"].as_array().unwrap();
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[1]["resource"]["resourceType"], "DetectedIssue");
        let section_refs: Vec<&Value> = c["section"][0]["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| &r["reference"])
            .collect();
        let urls: Vec<&Value> = entries[1..].iter().map(|e| &e["fullUrl"]).collect();
        assert_eq!(section_refs, urls);
        assert_eq!(
            c["event"],
            json!([{
                "code": [{"coding": [{"system": COMPOSITION_EVENT_SYSTEM, "code": "3", "display": "hendelse kvittert"}]}],
                "period": {"start": "2024-03-04T09:00:00+01:00", "end": "2024-03-04T11:30:00+01:00"},
                "detail": [{"reference": entries[1]["fullUrl"]}]
            }])
        );
    }

    #[test]
    fn closed_alert_codes_are_in_the_vkp_code_systems() {
        testkit::assert_codes_known(&closed_alert_document(&header(), &alert()));
    }

    #[test]
    fn every_alert_code_display_is_the_code_systems() {
        let (_, codes) = testkit::code_system("vkp-alert-code-v090.codesystem.xml");
        assert_eq!(codes.len(), ALERT_CODES.len());
        for (code, display) in ALERT_CODES {
            assert_eq!(
                codes.get(*code).map(String::as_str),
                Some(*display),
                "{code}"
            );
        }
        assert_eq!(alert_display("9.9"), None);
    }

    #[test]
    fn the_detected_issue_follows_the_vkp_profile() {
        let doc = closed_alert_document(&header(), &alert());
        let d = issue(&doc);
        let urls: Vec<&Value> = doc["entry"].as_array().unwrap()[2..]
            .iter()
            .map(|e| &e["fullUrl"])
            .collect();
        assert_eq!(d["meta"]["profile"], json!([VKP_DETECTED_ISSUE]));
        assert_eq!(d["status"], "final");
        assert_eq!(
            d["code"],
            json!({"coding": [{"system": ALERT_CODE_SYSTEM, "code": "5.3.2", "display": "Måling ikke rapportert"}]})
        );
        assert_eq!(d["patient"], doc["entry"][0]["resource"]["subject"]);
        assert_eq!(d["identifiedDateTime"], "2024-03-04T09:00:00+01:00");
        assert_eq!(d["detail"], "Blodtrykk ikke målt på tre dager.");
        assert_eq!(
            d["evidence"],
            json!([{"detail": [{"reference": urls[0]}]}, {"detail": [{"reference": urls[1]}]}])
        );
        assert_eq!(
            d["mitigation"],
            json!([{
                "action": {"text": "Varsel lukket"},
                "date": "2024-03-04T11:30:00+01:00",
                "author": {"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.4", "value": "9144900"}, "display": "Kari Sykepleier"}
            }])
        );
        assert!(d.get("author").is_none());
        assert_eq!(d["identifier"][0]["system"], "urn:ietf:rfc:3986");
    }

    #[test]
    fn evidence_is_copied_with_the_patient_identifier() {
        let doc = closed_alert_document(&header(), &alert());
        for entry in &doc["entry"].as_array().unwrap()[2..] {
            let o = &entry["resource"];
            assert_eq!(o["resourceType"], "Observation");
            assert!(o.get("id").is_none());
            assert_eq!(o["subject"]["identifier"]["value"], "13116900216");
            assert_eq!(
                o["subject"]["identifier"]["system"],
                "urn:oid:2.16.578.1.12.4.1.4.1"
            );
        }
        testkit::assert_no_literal_patient_reference(&doc);
    }

    #[test]
    fn a_d_number_patient_gets_the_dnr_system() {
        let mut h = header();
        h.patient.kind = NationalIdKind::Dnr;
        h.patient.national_id = "41018036736".into();
        let doc = closed_alert_document(&h, &alert());
        assert_eq!(
            issue(&doc)["patient"]["identifier"]["system"],
            "urn:oid:2.16.578.1.12.4.1.4.2"
        );
        assert_eq!(
            doc["entry"][2]["resource"]["subject"]["identifier"]["system"],
            "urn:oid:2.16.578.1.12.4.1.4.2"
        );
    }

    #[test]
    fn narrative_escapes_the_detail() {
        let mut a = alert();
        a.detail = "<script>alert(1)</script> & mer".into();
        let doc = closed_alert_document(&header(), &a);
        let div = doc["entry"][0]["resource"]["section"][0]["text"]["div"]
            .as_str()
            .unwrap();
        assert!(!div.contains("<script"), "{div}");
        assert!(
            div.contains("<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; mer</p>"),
            "{div}"
        );
        assert!(
            div.contains("<p>Varsel: Måling ikke rapportert (5.3.2)</p>"),
            "{div}"
        );
        assert!(div.contains("<p>Oppstått: 04.03.2024 09:00. Lukket: 04.03.2024 11:30.</p>"));
        assert!(div.contains("<td>Puls</td>"));
        testkit::assert_valid_document(&doc);
    }

    #[test]
    fn an_alert_without_evidence_or_practitioner_is_still_valid() {
        let mut h = header();
        h.author = None;
        let a = ClosedAlert {
            evidence: Vec::new(),
            detail: String::new(),
            ..alert()
        };
        let doc = closed_alert_document(&h, &a);
        testkit::assert_valid_document(&doc);
        let d = issue(&doc);
        assert!(d.get("evidence").is_none() && d.get("detail").is_none());
        assert!(d["mitigation"][0].get("author").is_none());
        assert_eq!(doc["entry"].as_array().unwrap().len(), 2);
    }
}
