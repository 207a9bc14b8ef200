//! The measurements of a period as a document: one section "sammenstilt tekst" with a table
//! of the Observations, which follow the Composition in the Bundle.

use serde_json::{json, Value};

use super::composition::{
    copy_observations, document, escape, norwegian_time, observation_table, section, DocumentIds,
    Skeleton, SECTION_SAMMENSTILT, TYPE_KURVE,
};
use super::{DocumentHeader, MeasurementSummary};

/// The date part of a FHIR date or dateTime, as Norwegians write it.
fn day(s: &str) -> String {
    norwegian_time(s)
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The document Bundle of a measurement summary.
///
/// - `Composition.type` F01-2 Kurve (Volven 9602, group F00-1 "Kurve, observasjon og
///   behandling"): a series of home measurements over time is what the EHR files as a chart.
///   B02-2 Journalnotat would hide that the content is measurements, S01-2 Tester is for
///   tests and scoring, and the C-group is laboratory results.
/// - `event` carries the period the summary covers (`event.period`), with no code: the codes of
///   vkp-composition-event-v090 describe the handling of an alert, none a summary.
/// - One section, code 2 "sammenstilt tekst" ("systemgenerert, sammenstilt tekst"): a table
///   of the Observations (Måling, Verdi, Tidspunkt) and an `entry` for each.
/// - The Observations are copied after the Composition with the patient's logical identifier
///   as `subject`, in the order given.
pub fn measurement_summary_document(h: &DocumentHeader, s: &MeasurementSummary) -> Value {
    let ids = DocumentIds::new(&h.document_id);
    let copies = copy_observations(&ids, &h.patient, &s.observations);
    let (start, end) = (s.period_start.trim(), s.period_end.trim());
    let period_text = format!("{}–{}", norwegian_time(start), norwegian_time(end));
    let xhtml = if copies.is_empty() {
        format!("<p>Ingen målinger i perioden {}.</p>", escape(&period_text))
    } else {
        let count = match copies.len() {
            1 => "1 måling".to_string(),
            n => format!("{n} målinger"),
        };
        format!(
            "<p>{count} i perioden {}.</p>{}",
            escape(&period_text),
            observation_table(&copies)
        )
    };
    let entries: Vec<String> = copies.iter().map(|c| c.full_url.clone()).collect();
    let mut period = serde_json::Map::new();
    if !start.is_empty() {
        period.insert("start".into(), json!(start));
    }
    if !end.is_empty() {
        period.insert("end".into(), json!(end));
    }
    let events = if period.is_empty() {
        Vec::new()
    } else {
        vec![json!({"period": period})]
    };
    let skeleton = Skeleton {
        type_code: TYPE_KURVE,
        title: format!("Målinger {}–{}", day(start), day(end)),
        date: h.created.clone(),
        identifier: None,
        events,
        sections: vec![section(SECTION_SAMMENSTILT, &xhtml, &entries)],
    };
    let resources = copies
        .into_iter()
        .map(|c| (c.full_url, c.resource))
        .collect();
    document(h, &ids, skeleton, resources)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::testkit::{self, blood_pressure, header, heart_rate};
    use crate::document::NationalIdKind;

    fn summary() -> MeasurementSummary {
        MeasurementSummary {
            period_start: "2024-03-01T00:00:00+01:00".into(),
            period_end: "2024-03-07T23:59:59+01:00".into(),
            observations: vec![heart_rate(), blood_pressure()],
        }
    }

    #[test]
    fn measurement_summary_is_a_document_with_the_required_elements() {
        let doc = measurement_summary_document(&header(), &summary());
        testkit::assert_valid_document(&doc);
        let c = &doc["entry"][0]["resource"];
        assert_eq!(c["type"]["coding"][0]["code"], "F01-2");
        assert_eq!(c["type"]["coding"][0]["display"], "Kurve");
        assert_eq!(c["title"], "Målinger 01.03.2024–07.03.2024");
        assert_eq!(
            c["event"],
            json!([{"period": {"start": "2024-03-01T00:00:00+01:00", "end": "2024-03-07T23:59:59+01:00"}}])
        );
        let entries = doc["entry"].as_array().unwrap();
        assert_eq!(entries.len(), 3);
        let refs: Vec<&Value> = c["section"][0]["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| &r["reference"])
            .collect();
        assert_eq!(refs, vec![&entries[1]["fullUrl"], &entries[2]["fullUrl"]]);
    }

    #[test]
    fn measurement_summary_codes_are_in_the_vkp_code_systems() {
        testkit::assert_codes_known(&measurement_summary_document(&header(), &summary()));
    }

    #[test]
    fn the_table_lists_code_value_and_time() {
        let doc = measurement_summary_document(&header(), &summary());
        let div = doc["entry"][0]["resource"]["section"][0]["text"]["div"]
            .as_str()
            .unwrap();
        assert!(
            div.contains("<tr><td>Puls</td><td>64 slag/min</td><td>01.03.2024 08:15</td></tr>"),
            "{div}"
        );
        assert!(
            div.contains(
                "<tr><td>Blood pressure panel with all children optional</td><td>132/84 mmHg</td>\
                 <td>01.03.2024 08:00–01.03.2024 08:05</td></tr>"
            ),
            "{div}"
        );
        assert!(div.starts_with("<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>2 målinger"));
    }

    #[test]
    fn observations_are_copied_with_the_patient_identifier() {
        let doc = measurement_summary_document(&header(), &summary());
        for entry in &doc["entry"].as_array().unwrap()[1..] {
            let o = &entry["resource"];
            assert_eq!(o["resourceType"], "Observation");
            assert!(o.get("id").is_none(), "{o}");
            assert!(entry["fullUrl"].as_str().unwrap().starts_with("urn:uuid:"));
            assert_eq!(
                o["subject"],
                json!({"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": "13116900216"}, "display": "Line Danser"})
            );
            assert!(o["meta"].get("versionId").is_none());
        }
        // The heart rate's performer was the patient: now the logical reference; its device
        // was a reference into Helsebro: only the display is left.
        let hr = &doc["entry"][1]["resource"];
        assert_eq!(hr["performer"][0], hr["subject"]);
        assert_eq!(hr["device"], json!({"display": "Nonin 3230"}));
        assert_eq!(
            hr["meta"],
            json!({"profile": [crate::codes::VKP_HEARTRATE]})
        );
        // The blood pressure's practitioner could not be kept at all.
        assert!(doc["entry"][2]["resource"].get("performer").is_none());
        testkit::assert_no_literal_patient_reference(&doc);
    }

    #[test]
    fn a_d_number_patient_gets_the_dnr_system_in_the_copies() {
        let mut h = header();
        h.patient.kind = NationalIdKind::Dnr;
        h.patient.national_id = "41018036736".into();
        let doc = measurement_summary_document(&h, &summary());
        for entry in doc["entry"].as_array().unwrap() {
            let subject = &entry["resource"]["subject"];
            assert_eq!(
                subject["identifier"]["system"],
                "urn:oid:2.16.578.1.12.4.1.4.2"
            );
        }
    }

    #[test]
    fn an_observation_given_twice_is_copied_once() {
        let mut s = summary();
        s.observations.push(heart_rate());
        let doc = measurement_summary_document(&header(), &s);
        assert_eq!(doc["entry"].as_array().unwrap().len(), 3);
        testkit::assert_valid_document(&doc);
    }

    #[test]
    fn references_between_copied_observations_point_at_their_entries() {
        let mut panel = blood_pressure();
        panel["id"] = json!("panel-1");
        panel["hasMember"] =
            json!([{"reference": "Observation/hr-1"}, {"reference": "Observation/elsewhere"}]);
        let s = MeasurementSummary {
            observations: vec![heart_rate(), panel],
            ..summary()
        };
        let doc = measurement_summary_document(&header(), &s);
        assert_eq!(
            doc["entry"][2]["resource"]["hasMember"],
            json!([{"reference": doc["entry"][1]["fullUrl"]}])
        );
    }

    #[test]
    fn an_empty_period_still_gives_a_valid_document() {
        let s = MeasurementSummary {
            observations: Vec::new(),
            ..summary()
        };
        let doc = measurement_summary_document(&header(), &s);
        testkit::assert_valid_document(&doc);
        let section = &doc["entry"][0]["resource"]["section"][0];
        assert!(section.get("entry").is_none());
        assert!(section["text"]["div"]
            .as_str()
            .unwrap()
            .contains("Ingen målinger i perioden"));
    }

    #[test]
    fn narrative_escapes_observation_text() {
        let mut hr = heart_rate();
        hr["code"]["text"] = json!("<script>x()</script> & co");
        let s = MeasurementSummary {
            observations: vec![hr],
            ..summary()
        };
        let doc = measurement_summary_document(&header(), &s);
        let div = doc["entry"][0]["resource"]["section"][0]["text"]["div"]
            .as_str()
            .unwrap();
        assert!(!div.contains("<script"));
        assert!(
            div.contains("&lt;script&gt;x()&lt;/script&gt; &amp; co"),
            "{div}"
        );
    }
}
