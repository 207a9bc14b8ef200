//! The outgoing message: a Hodemelding (MsgHead 1.2) whose one Document carries a
//! Dialogmelding 1.1 note about the patient, addressed by HER-id.

use super::structure::looks_like_date_time;
use super::{EdiXmlError, XmlOut, NS_DIALOG, NS_FK1, NS_MSGHEAD, OID_ORG_IDENT, OID_PERSON_IDENT};

/// A communication party as the Adresseregisteret knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub org_name: String,
    pub her_id: String,
    /// Nine digits, Enhetsregisteret.
    pub org_number: Option<String>,
}

/// Which national identity number the patient has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentKind {
    Fnr,
    Dnr,
}

impl IdentKind {
    /// The kodeverk 8116 value.
    pub fn code(self) -> &'static str {
        match self {
            Self::Fnr => "FNR",
            Self::Dnr => "DNR",
        }
    }

    fn display(self) -> &'static str {
        match self {
            Self::Fnr => "Fødselsnummer",
            Self::Dnr => "D-nummer",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientIdent {
    pub national_id: String,
    pub kind: IdentKind,
    pub family_name: String,
    pub given_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub document_id: String,
    pub topic: String,
    pub text: String,
    /// xs:date or xs:dateTime; DatoNotat is an xs:date, so only the date part is sent.
    pub written: String,
    /// The author's full name as one string ("Kari Anne Nordmann").
    pub author_name: Option<String>,
    pub author_hpr: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogNote {
    /// A UUID, unique per message: the AppRec refers back to it.
    pub msg_id: String,
    /// xs:dateTime.
    pub generated: String,
    pub sender: Party,
    pub receiver: Party,
    pub patient: PatientIdent,
    pub note: Note,
}

/// Kodeverk 8279 (Meldingens funksjon). DIALOG_NOTAT is the Dialogmelding 1.0 type; the
/// 1.1 revision names its content DIALOG_HELSEFAGLIG and keeps DIALOG_NOTAT only for
/// backward compatibility. Kept as asked for; a receiver that insists on the 1.1 pairing
/// needs this one constant (and TEMA) changed.
pub const MSG_TYPE: &str = "DIALOG_NOTAT";
const MSG_TYPE_DN: &str = "Notat";
const MIG_VERSION: &str = "v1.2 2006-05-24";

/// TemaKodet is required by the schema. Kodeverk 7322 (Tema for helsefaglig dialog),
/// 6 = "Henvendelse om pasient": the general-purpose theme for a note about a patient.
/// NAV's DIALOG_NOTAT traffic uses its own kodeverk 8127 instead; 7322 is what the
/// public 1.1 samples carry.
const TEMA: [(&str, &str); 3] = [
    ("V", "6"),
    ("S", "2.16.578.1.12.4.1.1.7322"),
    ("DN", "Henvendelse om pasient"),
];
/// Kodeverk 9057 (role in relation to the note), 1 = "Forfatter". Seen in NAV's
/// Dialogmelding code; not checked against Volven.
const AUTHOR_ROLE: [(&str, &str); 3] = [
    ("V", "1"),
    ("S", "2.16.578.1.12.4.1.1.9057"),
    ("DN", "Forfatter"),
];

/// The message as UTF-8 XML with declaration. Refuses input a receiver's structure check
/// would reject, so nothing unsendable reaches the outbox.
pub fn write(note: &DialogNote) -> Result<String, EdiXmlError> {
    validate(note)?;
    let mut x = XmlOut::new()?;
    x.open("MsgHead", &[("xmlns", NS_MSGHEAD)])?;
    x.open("MsgInfo", &[])?;
    x.empty("Type", &[("V", MSG_TYPE), ("DN", MSG_TYPE_DN)])?;
    x.leaf("MIGversion", MIG_VERSION)?;
    x.leaf("GenDate", &note.generated)?;
    x.leaf("MsgId", &note.msg_id)?;
    organisation(&mut x, "Sender", &note.sender)?;
    organisation(&mut x, "Receiver", &note.receiver)?;
    patient(&mut x, &note.patient)?;
    x.close("MsgInfo")?;
    x.open("Document", &[])?;
    x.open("RefDoc", &[])?;
    x.empty("IssueDate", &[("V", &note.generated)])?;
    x.empty("MsgType", &[("V", "XML"), ("DN", "XML-instans")])?;
    x.open("Content", &[])?;
    dialogmelding(&mut x, &note.note)?;
    x.close("Content")?;
    x.close("RefDoc")?;
    x.close("Document")?;
    x.close("MsgHead")?;
    x.finish()
}

fn organisation(x: &mut XmlOut, role: &str, party: &Party) -> Result<(), EdiXmlError> {
    x.open(role, &[])?;
    x.open("Organisation", &[])?;
    x.leaf("OrganisationName", &party.org_name)?;
    ident(x, &party.her_id, "HER", OID_ORG_IDENT, "HER-id")?;
    if let Some(number) = &party.org_number {
        ident(
            x,
            number,
            "ENH",
            OID_ORG_IDENT,
            "Organisasjonsnummeret i Enhetsregisteret",
        )?;
    }
    x.close("Organisation")?;
    x.close(role)
}

fn patient(x: &mut XmlOut, patient: &PatientIdent) -> Result<(), EdiXmlError> {
    x.open("Patient", &[])?;
    // Optional in the schema: a name we do not have is left out, not sent empty.
    if !patient.family_name.trim().is_empty() {
        x.leaf("FamilyName", &patient.family_name)?;
    }
    if !patient.given_name.trim().is_empty() {
        x.leaf("GivenName", &patient.given_name)?;
    }
    let kind = patient.kind;
    ident(
        x,
        &patient.national_id,
        kind.code(),
        OID_PERSON_IDENT,
        kind.display(),
    )?;
    x.close("Patient")
}

fn ident(x: &mut XmlOut, id: &str, v: &str, s: &str, dn: &str) -> Result<(), EdiXmlError> {
    x.open("Ident", &[])?;
    x.leaf("Id", id)?;
    x.empty("TypeId", &[("V", v), ("S", s), ("DN", dn)])?;
    x.close("Ident")
}

fn dialogmelding(x: &mut XmlOut, note: &Note) -> Result<(), EdiXmlError> {
    x.open(
        "Dialogmelding",
        &[("xmlns", NS_DIALOG), ("xmlns:fk1", NS_FK1)],
    )?;
    x.open("Notat", &[])?;
    x.empty("TemaKodet", &TEMA)?;
    if !note.topic.trim().is_empty() {
        x.leaf("Tema", &note.topic)?;
    }
    x.leaf("TekstNotatInnhold", &note.text)?;
    if !note.document_id.trim().is_empty() {
        x.leaf("DokIdNotat", &note.document_id)?;
    }
    x.leaf("DatoNotat", date_part(&note.written).unwrap_or_default())?;
    if note.author_name.is_some() || note.author_hpr.is_some() {
        author(x, note.author_name.as_deref(), note.author_hpr.as_deref())?;
    }
    x.close("Notat")?;
    x.close("Dialogmelding")
}

fn author(x: &mut XmlOut, name: Option<&str>, hpr: Option<&str>) -> Result<(), EdiXmlError> {
    x.open("RollerRelatertNotat", &[])?;
    x.empty("RolleNotat", &AUTHOR_ROLE)?;
    x.open("HealthcareProfessional", &[])?;
    if let Some((family, given)) = name.and_then(split_name) {
        // Schema order: FamilyName, MiddleName, GivenName.
        x.leaf("FamilyName", family)?;
        if let Some(given) = given {
            x.leaf("GivenName", given)?;
        }
    }
    if let Some(hpr) = hpr {
        x.open("Ident", &[])?;
        x.leaf("fk1:Id", hpr)?;
        x.empty(
            "fk1:TypeId",
            &[("V", "HPR"), ("S", OID_PERSON_IDENT), ("DN", "HPR-nummer")],
        )?;
        x.close("Ident")?;
    }
    x.close("HealthcareProfessional")?;
    x.close("RollerRelatertNotat")
}

/// We hold the author's name as one string; the schema wants it split. The last word is
/// taken as the family name: right for most Norwegian names, wrong for unhyphenated
/// double surnames, which then arrive with part of the surname as a given name.
fn split_name(full: &str) -> Option<(&str, Option<&str>)> {
    let full = full.trim();
    if full.is_empty() {
        return None;
    }
    Some(match full.rsplit_once(char::is_whitespace) {
        Some((given, family)) => (family, Some(given.trim_end())),
        None => (full, None),
    })
}

/// The xs:date at the start of an xs:date or xs:dateTime.
fn date_part(s: &str) -> Option<&str> {
    let s = s.trim();
    let date = s.get(..10)?;
    let b = date.as_bytes();
    let shaped = b.iter().enumerate().all(|(i, &c)| {
        if i == 4 || i == 7 {
            c == b'-'
        } else {
            c.is_ascii_digit()
        }
    });
    (shaped && (s.len() == 10 || s.as_bytes()[10] == b'T')).then_some(date)
}

fn validate(note: &DialogNote) -> Result<(), EdiXmlError> {
    let required = [
        ("msg_id", &note.msg_id),
        ("sender.org_name", &note.sender.org_name),
        ("receiver.org_name", &note.receiver.org_name),
        ("note.text", &note.note.text),
    ];
    for (field, value) in required {
        if value.trim().is_empty() {
            return Err(EdiXmlError::input(field, "must not be empty"));
        }
    }
    if !looks_like_date_time(&note.generated) {
        return Err(EdiXmlError::input("generated", "is not an xs:dateTime"));
    }
    if date_part(&note.note.written).is_none() {
        return Err(EdiXmlError::input(
            "note.written",
            "is not an xs:date or xs:dateTime",
        ));
    }
    for (field, party) in [("sender", &note.sender), ("receiver", &note.receiver)] {
        digits(&format!("{field}.her_id"), &party.her_id, None)?;
        if let Some(number) = &party.org_number {
            digits(&format!("{field}.org_number"), number, Some(9))?;
        }
    }
    digits("patient.national_id", &note.patient.national_id, Some(11))?;
    if let Some(hpr) = &note.note.author_hpr {
        digits("note.author_hpr", hpr, None)?;
    }
    Ok(())
}

fn digits(field: &str, value: &str, len: Option<usize>) -> Result<(), EdiXmlError> {
    let ok = !value.is_empty()
        && value.bytes().all(|b| b.is_ascii_digit())
        && len.is_none_or(|n| value.len() == n);
    if ok {
        return Ok(());
    }
    Err(EdiXmlError::input(
        field,
        match len {
            Some(n) => format!("must be {n} digits"),
            None => "must be digits".to_string(),
        },
    ))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::delivery::edi::structure::parse_tree;

    pub(crate) fn sample() -> DialogNote {
        DialogNote {
            msg_id: "3f2b8a4e-6f7d-4c1a-9b2e-0d5c7e8f9a10".into(),
            generated: "2024-05-02T09:30:00+02:00".into(),
            sender: Party {
                org_name: "Helsebro Testkommune <hjemmetjeneste> & co".into(),
                her_id: "8100001".into(),
                org_number: Some("999888777".into()),
            },
            receiver: Party {
                org_name: "Fastlegekontoret på Ås".into(),
                her_id: "8100002".into(),
                org_number: None,
            },
            patient: PatientIdent {
                national_id: "01887512345".into(),
                kind: IdentKind::Fnr,
                family_name: "Ærlig-Øvrebø".into(),
                given_name: "Åse".into(),
            },
            note: Note {
                document_id: "note-42".into(),
                topic: "Blodtrykk > 140 & puls".into(),
                text: "Målt 3 ganger: 150/95 < grense? \"Nei\" & 'ja'.\r\nNy linje: æøå ÆØÅ".into(),
                written: "2024-05-02T09:00:00+02:00".into(),
                author_name: Some("Kari Anne Nordmann".into()),
                author_hpr: Some("9144900".into()),
            },
        }
    }

    fn notat(xml: &str) -> crate::delivery::edi::structure::Node {
        let mut root = parse_tree(xml).unwrap();
        let mut path: Vec<(&str, &str)> = vec![
            (NS_MSGHEAD, "Document"),
            (NS_MSGHEAD, "RefDoc"),
            (NS_MSGHEAD, "Content"),
            (NS_DIALOG, "Dialogmelding"),
            (NS_DIALOG, "Notat"),
        ];
        path.reverse();
        while let Some((ns, name)) = path.pop() {
            let i = root
                .children
                .iter()
                .position(|c| c.name == name && c.in_ns(ns))
                .unwrap_or_else(|| panic!("no {name}"));
            root = root.children.swap_remove(i);
        }
        root
    }

    #[test]
    fn special_characters_are_escaped_and_preserved() {
        let note = sample();
        let xml = write(&note).unwrap();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        assert!(xml.contains("150/95 &lt; grense"), "{xml}");
        assert!(xml.contains("&amp; co"));
        assert!(
            xml.contains("æøå ÆØÅ"),
            "non-ASCII goes out as UTF-8, not escaped"
        );
        assert!(!xml.contains("<hjemmetjeneste>"));

        let notat = notat(&xml);
        let text = notat.first_child(NS_DIALOG, "TekstNotatInnhold").unwrap();
        assert_eq!(text.text(), note.note.text, "CR and quotes survive too");
        let tema = notat.first_child(NS_DIALOG, "Tema").unwrap();
        assert_eq!(tema.text(), note.note.topic);

        let root = parse_tree(&xml).unwrap();
        let org = root
            .first_child(NS_MSGHEAD, "MsgInfo")
            .and_then(|i| i.first_child(NS_MSGHEAD, "Sender"))
            .and_then(|s| s.first_child(NS_MSGHEAD, "Organisation"))
            .and_then(|o| o.first_child(NS_MSGHEAD, "OrganisationName"))
            .unwrap();
        assert_eq!(org.text(), note.sender.org_name);
    }

    #[test]
    fn note_fields_and_author() {
        let xml = write(&sample()).unwrap();
        let notat = notat(&xml);
        let tema = notat.first_child(NS_DIALOG, "TemaKodet").unwrap();
        assert_eq!(tema.attr("S"), Some("2.16.578.1.12.4.1.1.7322"));
        assert_eq!(
            notat.first_child(NS_DIALOG, "DatoNotat").unwrap().text(),
            "2024-05-02"
        );
        assert_eq!(
            notat.first_child(NS_DIALOG, "DokIdNotat").unwrap().text(),
            "note-42"
        );
        let hcp = notat
            .first_child(NS_DIALOG, "RollerRelatertNotat")
            .and_then(|r| r.first_child(NS_DIALOG, "HealthcareProfessional"))
            .unwrap();
        assert_eq!(
            hcp.first_child(NS_DIALOG, "FamilyName").unwrap().text(),
            "Nordmann"
        );
        assert_eq!(
            hcp.first_child(NS_DIALOG, "GivenName").unwrap().text(),
            "Kari Anne"
        );
        let ident = hcp.first_child(NS_DIALOG, "Ident").unwrap();
        // Id/TypeId come from felleskomponent1, not the Dialogmelding namespace.
        assert_eq!(ident.first_child(NS_FK1, "Id").unwrap().text(), "9144900");
        assert_eq!(
            ident.first_child(NS_FK1, "TypeId").unwrap().attr("V"),
            Some("HPR")
        );
    }

    #[test]
    fn without_author_or_optional_fields() {
        let mut note = sample();
        note.note.author_name = None;
        note.note.author_hpr = None;
        note.note.topic = String::new();
        note.note.document_id = String::new();
        note.note.written = "2024-05-01".into();
        note.patient.kind = IdentKind::Dnr;
        let xml = write(&note).unwrap();
        assert!(!xml.contains("RollerRelatertNotat"));
        assert!(!xml.contains("<Tema>"));
        assert!(!xml.contains("DokIdNotat"));
        assert!(xml.contains("<DatoNotat>2024-05-01</DatoNotat>"));
        assert!(xml.contains("V=\"DNR\""));
        assert!(crate::delivery::edi::structure::check_msghead(&xml).is_ok());
    }

    #[test]
    fn name_only_author_has_no_ident() {
        let mut note = sample();
        note.note.author_hpr = None;
        note.note.author_name = Some("Cher".into());
        let xml = write(&note).unwrap();
        assert!(xml.contains("<FamilyName>Cher</FamilyName>"));
        assert!(!xml.contains("fk1:Id"));
    }

    #[test]
    fn unsendable_input_is_refused() {
        type Spoil = fn(&mut DialogNote);
        let cases: [(&str, Spoil); 7] = [
            ("msg_id", |n| n.msg_id = " ".into()),
            ("generated", |n| n.generated = "2024-05-02".into()),
            ("note.written", |n| n.note.written = "i går".into()),
            ("patient.national_id", |n| {
                n.patient.national_id = "0188751234".into()
            }),
            ("receiver.her_id", |n| n.receiver.her_id = "HER 12".into()),
            ("sender.org_number", |n| {
                n.sender.org_number = Some("12345".into())
            }),
            ("note.text", |n| n.note.text = String::new()),
        ];
        for (field, spoil) in cases {
            let mut note = sample();
            spoil(&mut note);
            match write(&note) {
                Err(EdiXmlError::Input { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn control_characters_are_refused_not_dropped() {
        let mut note = sample();
        note.note.text = "før\u{1}etter".into();
        let err = write(&note).unwrap_err();
        assert!(err.to_string().contains("TekstNotatInnhold"), "{err}");
        assert!(err.to_string().contains("U+0001"), "{err}");
    }

    #[test]
    fn name_split() {
        assert_eq!(
            split_name(" Kari  Nordmann "),
            Some(("Nordmann", Some("Kari")))
        );
        assert_eq!(split_name("Nordmann"), Some(("Nordmann", None)));
        assert_eq!(split_name("  "), None);
    }

    #[test]
    fn date_part_of_date_or_date_time() {
        assert_eq!(date_part("2024-05-02"), Some("2024-05-02"));
        assert_eq!(date_part("2024-05-02T23:59:00Z"), Some("2024-05-02"));
        assert_eq!(date_part("2024-05-02 23:59"), None);
        assert_eq!(date_part("02.05.2024"), None);
    }
}
