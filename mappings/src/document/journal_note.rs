//! A journal note as a document: one section "notat" with the note's text.

use serde_json::Value;

use super::composition::{
    document, non_empty, paragraphs, record_identifier, section, DocumentIds, Skeleton,
    SECTION_NOTAT, TYPE_JOURNALNOTAT,
};
use super::{DocumentHeader, JournalNote};

/// The document Bundle of a journal note.
///
/// - `Composition.type` B02-2 Journalnotat (Volven 9602).
/// - No `event`: the codes of vkp-composition-event-v090 describe the handling of an alert
///   (meldt, behandles, kvittert, utrykning, …), none a note written in follow-up.
/// - One section, code 1 "notat" ("generelle, manuelt genererte notater"), whose narrative is
///   the note's text, paragraph by paragraph.
/// - `Composition.date` is when this version was written; `Composition.identifier` is the
///   same for every version of the note, so the EHR can tell a new version from a new note.
pub fn journal_note_document(h: &DocumentHeader, note: &JournalNote) -> Value {
    let ids = DocumentIds::new(&h.document_id);
    let title = non_empty(&note.title)
        .map(|t| t.trim().to_string())
        .unwrap_or_else(|| TYPE_JOURNALNOTAT.display.to_string());
    let body = match paragraphs(&note.text) {
        text if text.is_empty() => "<p>(Tomt notat)</p>".to_string(),
        text => text,
    };
    let skeleton = Skeleton {
        type_code: TYPE_JOURNALNOTAT,
        title,
        date: note.written_at.clone(),
        identifier: Some(record_identifier(h, "journal-note", note.id.trim())),
        events: Vec::new(),
        sections: vec![section(SECTION_NOTAT, &body, &[])],
    };
    document(h, &ids, skeleton, Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::testkit::{self, header};
    use crate::document::NationalIdKind;
    use serde_json::json;

    fn note() -> JournalNote {
        JournalNote {
            id: "note-17".into(),
            version: 2,
            title: "Oppfølging etter telefonsamtale".into(),
            text: "Pasienten melder bedre søvn.\nBlodtrykk stabilt.\n\nNy kontroll om to uker."
                .into(),
            written_at: "2024-03-04T10:12:00+01:00".into(),
        }
    }

    #[test]
    fn journal_note_is_a_document_with_the_required_elements() {
        let doc = journal_note_document(&header(), &note());
        testkit::assert_valid_document(&doc);
        let c = &doc["entry"][0]["resource"];
        assert_eq!(
            c["type"]["coding"][0],
            json!({"system": "urn:oid:2.16.578.1.12.4.1.1.9602", "code": "B02-2", "display": "Journalnotat"})
        );
        assert_eq!(c["title"], "Oppfølging etter telefonsamtale");
        assert_eq!(c["date"], "2024-03-04T10:12:00+01:00");
        assert_eq!(doc["timestamp"], "2024-03-05T12:00:00+01:00");
        assert!(c.get("event").is_none());
        assert_eq!(c["section"][0]["code"]["coding"][0]["code"], "1");
        assert_eq!(doc["entry"].as_array().unwrap().len(), 1);
        assert_eq!(
            c["section"][0]["text"]["div"],
            "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Pasienten melder bedre søvn.<br/>\
             Blodtrykk stabilt.</p><p>Ny kontroll om to uker.</p></div>"
        );
    }

    #[test]
    fn journal_note_codes_are_in_the_vkp_code_systems() {
        testkit::assert_codes_known(&journal_note_document(&header(), &note()));
    }

    #[test]
    fn journal_note_narrative_escapes_markup() {
        let mut n = note();
        n.text = "<script>alert('x')</script> & \"sitat\"".into();
        n.title = "A & B <i>".into();
        let doc = journal_note_document(&header(), &n);
        let div = doc["entry"][0]["resource"]["section"][0]["text"]["div"]
            .as_str()
            .unwrap();
        assert!(!div.contains("<script"), "{div}");
        assert!(
            div.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;sitat&quot;"),
            "{div}"
        );
        // The title is a plain string, not XHTML: kept as written.
        assert_eq!(doc["entry"][0]["resource"]["title"], "A & B <i>");
        testkit::assert_valid_document(&doc);
    }

    #[test]
    fn subject_and_author_are_logical_references() {
        let doc = journal_note_document(&header(), &note());
        let c = &doc["entry"][0]["resource"];
        assert_eq!(
            c["subject"],
            json!({"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": "13116900216"}, "display": "Line Danser"})
        );
        assert_eq!(
            c["author"],
            json!([{"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.4", "value": "9144900"}, "display": "Kari Sykepleier"}])
        );
        testkit::assert_no_literal_patient_reference(&doc);
    }

    #[test]
    fn without_an_hpr_number_the_sender_is_the_author() {
        let mut h = header();
        h.author = Some(crate::document::Author {
            hpr_number: None,
            name: Some("Kari".into()),
        });
        let doc = journal_note_document(&h, &note());
        assert_eq!(
            doc["entry"][0]["resource"]["author"],
            json!([{"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.101", "value": "974760673"}, "display": "Testkommune helse"}])
        );
        h.author = None;
        testkit::assert_valid_document(&journal_note_document(&h, &note()));
    }

    #[test]
    fn a_d_number_patient_gets_the_dnr_system() {
        let mut h = header();
        h.patient.kind = NationalIdKind::Dnr;
        h.patient.national_id = "41018036736".into();
        h.patient.name = None;
        let checked = helsebro_profiles::identifiers::check_person_number("41018036736", false);
        assert_eq!(
            checked.unwrap().kind,
            helsebro_profiles::identifiers::NationalIdKind::Dnr
        );
        let doc = journal_note_document(&h, &note());
        assert_eq!(
            doc["entry"][0]["resource"]["subject"],
            json!({"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.2", "value": "41018036736"}})
        );
    }

    #[test]
    fn the_same_inputs_give_the_same_document_and_versions_share_the_identifier() {
        let (h, n) = (header(), note());
        assert_eq!(journal_note_document(&h, &n), journal_note_document(&h, &n));
        let mut h2 = header();
        h2.document_id = "0d7e1d0c-3b8e-4c1e-9d55-6f0b9d3a2b11".into();
        let mut n2 = note();
        n2.version = 3;
        let (a, b) = (
            journal_note_document(&h, &n),
            journal_note_document(&h2, &n2),
        );
        assert_eq!(
            a["entry"][0]["resource"]["identifier"],
            b["entry"][0]["resource"]["identifier"]
        );
        assert_ne!(a["identifier"], b["identifier"]);
        assert_ne!(a["entry"][0]["fullUrl"], b["entry"][0]["fullUrl"]);
    }

    #[test]
    fn empty_title_and_text_still_give_a_valid_document() {
        let n = JournalNote {
            id: "n".into(),
            written_at: "2024-03-04".into(),
            ..JournalNote::default()
        };
        let doc = journal_note_document(&header(), &n);
        assert_eq!(doc["entry"][0]["resource"]["title"], "Journalnotat");
        testkit::assert_valid_document(&doc);
    }
}
