//! The application receipt (AppRec 1.1) a receiver returns for every business message:
//! written when we answer one, read when our note is answered.

use super::msghead::Party;
use super::structure::{looks_like_date_time, parse_tree, Node};
use super::{EdiXmlError, XmlOut, NS_APPREC, NS_APPREC_10};

/// The `Status` values (kodeverk 8258, "Status for mottak av melding"). `Status` is a CS
/// in the schema, so it carries V and DN but no S.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppRecStatus {
    Ok,
    Rejected,
    OkWithErrors,
}

impl AppRecStatus {
    pub fn code(self) -> &'static str {
        match self {
            Self::Ok => "1",
            Self::Rejected => "2",
            Self::OkWithErrors => "3",
        }
    }

    pub fn display(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Rejected => "Avvist",
            Self::OkWithErrors => "OK, feil i delmelding",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Ok, Self::Rejected, Self::OkWithErrors]
            .into_iter()
            .find(|s| s.code() == code)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRecError {
    /// The V of the Error element; written with S = kodeverk 8221.
    pub code: String,
    /// The DN.
    pub text: String,
}

impl AppRecError {
    pub fn known(error: KnownError) -> Self {
        Self {
            code: error.code().to_string(),
            text: error.text().to_string(),
        }
    }
}

/// The subset of kodeverk 8221 ("Feilmeldinger for applikasjonskvittering - Generelle")
/// a receiver of our notes can hit. Codes and texts as used alike by the KS (fiks-nhn),
/// NAV (emottak) and Digdir integrations with Norsk helsenett; not read off Volven itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnownError {
    /// T01: not XML, not well-formed, unreadable.
    NotWellFormed,
    /// T02: does not validate against the schema.
    NotValid,
    /// T10: message format not supported.
    UnsupportedFormat,
    /// E10: invalid message identifier.
    InvalidMsgId,
    /// E21: receiver does not exist.
    UnknownReceiver,
    /// E30: patient's national id missing.
    PatientIdMissing,
    /// E31: patient's national id wrong.
    PatientIdWrong,
    /// X99: other error.
    Other,
}

impl KnownError {
    pub fn code(self) -> &'static str {
        match self {
            Self::NotWellFormed => "T01",
            Self::NotValid => "T02",
            Self::UnsupportedFormat => "T10",
            Self::InvalidMsgId => "E10",
            Self::UnknownReceiver => "E21",
            Self::PatientIdMissing => "E30",
            Self::PatientIdWrong => "E31",
            Self::Other => "X99",
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Self::NotWellFormed => "Ikke XML / ikke 'well formed' / uleselig",
            Self::NotValid => "XML validerer ikke",
            Self::UnsupportedFormat => "Støtter ikke meldingsformatet",
            Self::InvalidMsgId => "Ugyldig meldingsidentifikator",
            Self::UnknownReceiver => "Mottaker finnes ikke",
            Self::PatientIdMissing => "Pasientens fødselsnummer mangler",
            Self::PatientIdWrong => "Pasientens fødselsnummer er feil",
            Self::Other => "Annen feil",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRec {
    pub id: String,
    /// xs:dateTime.
    pub generated: String,
    pub status: AppRecStatus,
    pub errors: Vec<AppRecError>,
    pub original_msg_id: String,
    /// The original's MsgInfo/Type V, e.g. DIALOG_NOTAT; empty when the original was
    /// too broken to say.
    pub original_msg_type: String,
    /// Who received the original message and now answers it. An empty `her_id` or
    /// `org_name` (a sender we could not read) is left out of the XML, as the schema allows.
    pub sender: Party,
    pub receiver: Party,
}

const MIG_VERSION: &str = "v1.1 2012-02-15";
const OID_APPREC_ERROR: &str = "2.16.578.1.12.4.1.1.8221";
const ENH_DN: &str = "Organisasjonsnummeret i Enhetsregisteret";

/// The receipt as UTF-8 XML with declaration.
///
/// OriginalMsgId/IssueDate (the original's issue time) is required by the schema, but
/// `AppRec` carries no such field, so the receipt's own `generated` stands in for it.
/// Receivers match a receipt by OriginalMsgId/Id; the stand-in is off by the handling
/// delay. Parsing does not return IssueDate for the same reason.
pub fn write(a: &AppRec) -> Result<String, EdiXmlError> {
    validate(a)?;
    let mut x = XmlOut::new()?;
    x.open("AppRec", &[("xmlns", NS_APPREC)])?;
    x.empty(
        "MsgType",
        &[("V", "APPREC"), ("DN", "Applikasjonskvittering")],
    )?;
    x.leaf("MIGversion", MIG_VERSION)?;
    x.leaf("GenDate", &a.generated)?;
    x.leaf("Id", &a.id)?;
    party(&mut x, "Sender", &a.sender)?;
    party(&mut x, "Receiver", &a.receiver)?;
    x.empty(
        "Status",
        &[("V", a.status.code()), ("DN", a.status.display())],
    )?;
    for e in &a.errors {
        x.empty(
            "Error",
            &[("V", &e.code), ("S", OID_APPREC_ERROR), ("DN", &e.text)],
        )?;
    }
    x.open("OriginalMsgId", &[])?;
    let msg_type = a.original_msg_type.trim();
    match msg_type_display(msg_type) {
        Some(dn) => x.empty("MsgType", &[("V", msg_type), ("DN", dn)])?,
        None if msg_type.is_empty() => x.empty("MsgType", &[])?,
        None => x.empty("MsgType", &[("V", msg_type)])?,
    }
    x.leaf("IssueDate", &a.generated)?;
    x.leaf("Id", &a.original_msg_id)?;
    x.close("OriginalMsgId")?;
    x.close("AppRec")?;
    x.finish()
}

fn party(x: &mut XmlOut, role: &str, party: &Party) -> Result<(), EdiXmlError> {
    x.open(role, &[])?;
    x.open("HCP", &[])?;
    x.open("Inst", &[])?;
    if !party.org_name.trim().is_empty() {
        x.leaf("Name", &party.org_name)?;
    }
    if !party.her_id.is_empty() {
        x.leaf("Id", &party.her_id)?;
        // TypeId is a CS here (unlike MsgHead's CV): no S attribute.
        x.empty("TypeId", &[("V", "HER"), ("DN", "HER-id")])?;
    }
    if let Some(number) = &party.org_number {
        x.open("AdditionalId", &[])?;
        x.leaf("Id", number)?;
        x.empty("Type", &[("V", "ENH"), ("DN", ENH_DN)])?;
        x.close("AdditionalId")?;
    }
    x.close("Inst")?;
    x.close("HCP")?;
    x.close(role)
}

fn msg_type_display(code: &str) -> Option<&'static str> {
    match code {
        "DIALOG_NOTAT" => Some("Notat"),
        "DIALOG_HELSEFAGLIG" => Some("Helsefaglig dialog"),
        _ => None,
    }
}

fn validate(a: &AppRec) -> Result<(), EdiXmlError> {
    for (field, value) in [("id", &a.id), ("original_msg_id", &a.original_msg_id)] {
        if value.trim().is_empty() {
            return Err(EdiXmlError::input(field, "must not be empty"));
        }
    }
    if !looks_like_date_time(&a.generated) {
        return Err(EdiXmlError::input("generated", "is not an xs:dateTime"));
    }
    for (field, p) in [("sender", &a.sender), ("receiver", &a.receiver)] {
        if !p.her_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(EdiXmlError::input(
                &format!("{field}.her_id"),
                "must be digits",
            ));
        }
    }
    // Norsk helsenett's message service refuses errors on an OK receipt and a rejection
    // without any; a receipt the counterparty cannot act on helps nobody.
    match (a.status, a.errors.is_empty()) {
        (AppRecStatus::Ok, false) => Err(EdiXmlError::input("errors", "must be empty when OK")),
        (AppRecStatus::Rejected | AppRecStatus::OkWithErrors, true) => Err(EdiXmlError::input(
            "errors",
            "at least one is required unless OK",
        )),
        _ => match a.errors.iter().find(|e| e.code.trim().is_empty()) {
            Some(_) => Err(EdiXmlError::input("errors.code", "must not be empty")),
            None => Ok(()),
        },
    }
}

/// Reads an AppRec 1.1 (or 1.0, whose elements are the same). Every element is looked up
/// in the root's namespace, so a receipt mixing namespaces is refused. What a receipt
/// needs to be acted on (its id, status, the original's id) is required; the rest is
/// read as far as it is there, since receipts answering broken messages are sparse.
pub fn parse(xml: &str) -> Result<AppRec, EdiXmlError> {
    let root = parse_tree(xml)?;
    let ns = match root.ns.as_deref() {
        Some(ns @ (NS_APPREC | NS_APPREC_10)) if root.name == "AppRec" => ns,
        _ => {
            return Err(EdiXmlError::ForeignRoot {
                expected: format!("{{{NS_APPREC}}}AppRec"),
                found: root.qualified(),
            })
        }
    };
    let r = Reader { ns };
    let p = "AppRec";
    let msg_type = r.attr(r.child(&root, p, "MsgType")?, &format!("{p}/MsgType"), "V")?;
    if msg_type != "APPREC" {
        return Err(content(
            &format!("{p}/MsgType/@V"),
            format!("is {msg_type:?}, expected \"APPREC\""),
        ));
    }
    let status_code = r.attr(r.child(&root, p, "Status")?, &format!("{p}/Status"), "V")?;
    let status = AppRecStatus::from_code(status_code).ok_or_else(|| {
        content(
            &format!("{p}/Status/@V"),
            format!("unknown status {status_code:?}"),
        )
    })?;
    let mut errors = Vec::new();
    for e in root.children_named(ns, "Error") {
        errors.push(AppRecError {
            code: r.attr(e, &format!("{p}/Error"), "V")?.to_string(),
            text: e.attr("DN").unwrap_or_default().to_string(),
        });
    }
    let op = format!("{p}/OriginalMsgId");
    let original = r.child(&root, p, "OriginalMsgId")?;
    Ok(AppRec {
        id: r.text(&root, p, "Id")?,
        generated: r.text(&root, p, "GenDate")?,
        status,
        errors,
        original_msg_type: r
            .child(original, &op, "MsgType")?
            .attr("V")
            .unwrap_or_default()
            .trim()
            .to_string(),
        original_msg_id: r.text(original, &op, "Id")?,
        sender: r.party(&root, p, "Sender")?,
        receiver: r.party(&root, p, "Receiver")?,
    })
}

struct Reader<'n> {
    ns: &'n str,
}

impl Reader<'_> {
    fn child<'a>(&self, parent: &'a Node, p: &str, name: &str) -> Result<&'a Node, EdiXmlError> {
        if let Some(found) = parent.first_child(self.ns, name) {
            return Ok(found);
        }
        let path = format!("{p}/{name}");
        Err(match parent.children.iter().find(|c| c.name == name) {
            Some(other) => content(
                &path,
                format!(
                    "in namespace {}, expected {}",
                    other.ns.as_deref().unwrap_or("(none)"),
                    self.ns
                ),
            ),
            None => content(&path, "missing"),
        })
    }

    fn text(&self, parent: &Node, p: &str, name: &str) -> Result<String, EdiXmlError> {
        let value = self.child(parent, p, name)?.text().trim();
        if value.is_empty() {
            return Err(content(&format!("{p}/{name}"), "is empty"));
        }
        Ok(value.to_string())
    }

    fn attr<'a>(&self, node: &'a Node, p: &str, attr: &str) -> Result<&'a str, EdiXmlError> {
        node.attr(attr)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| content(&format!("{p}/@{attr}"), "missing"))
    }

    /// The institution's HER-id and organisation number, whichever of Id/TypeId and
    /// AdditionalId carries them (senders differ: some put the HER-id first, some ENH).
    fn party(&self, root: &Node, p: &str, role: &str) -> Result<Party, EdiXmlError> {
        let rp = format!("{p}/{role}");
        let hcp = self.child(self.child(root, p, role)?, &rp, "HCP")?;
        let inst = self.child(hcp, &format!("{rp}/HCP"), "Inst")?;
        let mut ids: Vec<(&str, &str)> = Vec::new();
        if let (Some(id), Some(kind)) = (
            inst.first_child(self.ns, "Id"),
            inst.first_child(self.ns, "TypeId")
                .and_then(|t| t.attr("V")),
        ) {
            ids.push((kind, id.text().trim()));
        }
        for extra in inst.children_named(self.ns, "AdditionalId") {
            if let (Some(id), Some(kind)) = (
                extra.first_child(self.ns, "Id"),
                extra.first_child(self.ns, "Type").and_then(|t| t.attr("V")),
            ) {
                ids.push((kind, id.text().trim()));
            }
        }
        let find = |kind: &str| {
            ids.iter()
                .find(|(k, id)| *k == kind && !id.is_empty())
                .map(|(_, id)| id.to_string())
        };
        Ok(Party {
            org_name: inst
                .first_child(self.ns, "Name")
                .map(|n| n.text().trim().to_string())
                .unwrap_or_default(),
            her_id: find("HER").unwrap_or_default(),
            org_number: find("ENH"),
        })
    }
}

fn content(path: &str, message: impl Into<String>) -> EdiXmlError {
    EdiXmlError::Content {
        path: path.to_string(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(status: AppRecStatus) -> AppRec {
        let errors = match status {
            AppRecStatus::Ok => vec![],
            AppRecStatus::Rejected => vec![AppRecError::known(KnownError::UnknownReceiver)],
            AppRecStatus::OkWithErrors => vec![
                AppRecError::known(KnownError::PatientIdWrong),
                AppRecError {
                    code: "X99".into(),
                    text: "Vedlegg <2> & \"3\" mangler: æøå".into(),
                },
            ],
        };
        AppRec {
            id: "c0a8e3f1-1111-4a2b-8c3d-222233334444".into(),
            generated: "2024-05-02T09:31:05Z".into(),
            status,
            errors,
            original_msg_id: "3f2b8a4e-6f7d-4c1a-9b2e-0d5c7e8f9a10".into(),
            original_msg_type: "DIALOG_NOTAT".into(),
            sender: Party {
                org_name: "Fastlegekontoret på Ås".into(),
                her_id: "8100002".into(),
                org_number: Some("999888777".into()),
            },
            receiver: Party {
                org_name: "Helsebro Testkommune".into(),
                her_id: "8100001".into(),
                org_number: None,
            },
        }
    }

    #[test]
    fn round_trip_for_every_status() {
        for status in [
            AppRecStatus::Ok,
            AppRecStatus::Rejected,
            AppRecStatus::OkWithErrors,
        ] {
            let a = sample(status);
            let xml = write(&a).unwrap();
            assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
            assert!(
                xml.contains(&format!("<Status V=\"{}\"", status.code())),
                "{xml}"
            );
            assert_eq!(parse(&xml).unwrap(), a, "{xml}");
        }
    }

    #[test]
    fn error_codes_carry_their_code_system() {
        let xml = write(&sample(AppRecStatus::Rejected)).unwrap();
        assert!(xml.contains(
            "<Error V=\"E21\" S=\"2.16.578.1.12.4.1.1.8221\" DN=\"Mottaker finnes ikke\"/>"
        ));
    }

    #[test]
    fn foreign_root_is_refused() {
        let msghead = "<MsgHead xmlns=\"http://www.kith.no/xmlstds/msghead/2006-05-24\"/>";
        assert!(matches!(
            parse(msghead),
            Err(EdiXmlError::ForeignRoot { .. })
        ));
        let wrong_ns = write(&sample(AppRecStatus::Ok))
            .unwrap()
            .replace(NS_APPREC, "urn:example:apprec");
        assert!(matches!(
            parse(&wrong_ns),
            Err(EdiXmlError::ForeignRoot { .. })
        ));
        assert!(matches!(parse("<AppRec"), Err(EdiXmlError::Malformed(_))));
    }

    #[test]
    fn element_in_another_namespace_is_refused() {
        let xml = write(&sample(AppRecStatus::Ok))
            .unwrap()
            .replace("<Status ", "<Status xmlns=\"urn:example:other\" ");
        match parse(&xml) {
            Err(EdiXmlError::Content { path, message }) => {
                assert_eq!(path, "AppRec/Status");
                assert!(message.contains("urn:example:other"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_status_and_missing_original_are_refused() {
        let xml = write(&sample(AppRecStatus::Ok)).unwrap();
        let bad_status = xml.replace("<Status V=\"1\"", "<Status V=\"7\"");
        assert!(
            matches!(parse(&bad_status), Err(EdiXmlError::Content { path, .. }) if path == "AppRec/Status/@V")
        );
        let start = xml.find("<OriginalMsgId>").unwrap();
        let end = xml.find("</OriginalMsgId>").unwrap() + "</OriginalMsgId>".len();
        let no_original = format!("{}{}", &xml[..start], &xml[end..]);
        assert!(
            matches!(parse(&no_original), Err(EdiXmlError::Content { path, .. }) if path == "AppRec/OriginalMsgId")
        );
    }

    #[test]
    fn reads_a_prefixed_1_0_receipt_with_enh_first() {
        // Shaped like the receipts NAV sends: AppRec 1.0 namespace under a prefix, the
        // organisation number as Inst/Id and the HER-id as AdditionalId, a person nested.
        let xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<a:AppRec xmlns:a="{NS_APPREC_10}">
  <a:MsgType V="APPREC"/>
  <a:MIGversion>1.0 2004-11-21</a:MIGversion>
  <a:GenDate>2024-05-02T10:00:00</a:GenDate>
  <a:Id>r-1</a:Id>
  <a:Sender><a:HCP><a:Inst>
    <a:Name>Mottakeren</a:Name><a:Id>999888777</a:Id><a:TypeId V="ENH" DN="x"/>
    <a:AdditionalId><a:Id>8100002</a:Id><a:Type V="HER" DN="HER-id"/></a:AdditionalId>
    <a:HCPerson><a:Name>Lege</a:Name><a:Id>123</a:Id><a:TypeId V="HPR"/></a:HCPerson>
  </a:Inst></a:HCP></a:Sender>
  <a:Receiver><a:Role V="AVS"/><a:HCP><a:Inst>
    <a:Name>Oss</a:Name><a:Id>8100001</a:Id><a:TypeId V="HER" DN="HER-id"/>
  </a:Inst></a:HCP></a:Receiver>
  <a:Status V="2" DN="Avvist"/>
  <a:Error V="E21" DN="Mottaker finnes ikke"/>
  <a:OriginalMsgId>
    <a:MsgType V="DIALOG_NOTAT"/><a:IssueDate>2024-05-02T09:30:00</a:IssueDate><a:Id>m-1</a:Id>
  </a:OriginalMsgId>
</a:AppRec>"#
        );
        let a = parse(&xml).unwrap();
        assert_eq!(a.status, AppRecStatus::Rejected);
        assert_eq!(a.errors, [AppRecError::known(KnownError::UnknownReceiver)]);
        assert_eq!(a.sender.her_id, "8100002");
        assert_eq!(a.sender.org_number.as_deref(), Some("999888777"));
        assert_eq!(a.receiver.her_id, "8100001");
        assert_eq!(a.original_msg_id, "m-1");
        assert_eq!(a.original_msg_type, "DIALOG_NOTAT");
    }

    #[test]
    fn inconsistent_receipts_are_not_written() {
        let mut ok_with_error = sample(AppRecStatus::Ok);
        ok_with_error.errors = vec![AppRecError::known(KnownError::Other)];
        assert!(matches!(
            write(&ok_with_error),
            Err(EdiXmlError::Input { .. })
        ));
        let mut silent_rejection = sample(AppRecStatus::Rejected);
        silent_rejection.errors.clear();
        assert!(matches!(
            write(&silent_rejection),
            Err(EdiXmlError::Input { .. })
        ));
        let mut no_date = sample(AppRecStatus::Ok);
        no_date.generated = "2024-05-02".into();
        assert!(
            matches!(write(&no_date), Err(EdiXmlError::Input { field, .. }) if field == "generated")
        );
        let mut bad_her = sample(AppRecStatus::Ok);
        bad_her.receiver.her_id = "HER-1".into();
        assert!(
            matches!(write(&bad_her), Err(EdiXmlError::Input { field, .. }) if field == "receiver.her_id")
        );
    }

    #[test]
    fn receipt_for_an_unreadable_message_round_trips() {
        // All a receiver knows of a broken message: a made-up id, not its type or sender.
        let mut a = sample(AppRecStatus::Rejected);
        a.errors = vec![AppRecError::known(KnownError::NotWellFormed)];
        a.original_msg_id = "sha256:00ff".into();
        a.original_msg_type = String::new();
        a.receiver = Party {
            org_name: String::new(),
            her_id: String::new(),
            org_number: None,
        };
        let xml = write(&a).unwrap();
        assert!(!xml.contains("<Name></Name>"), "{xml}");
        assert!(xml.contains("<IssueDate>2024-05-02T09:31:05Z</IssueDate>"));
        assert_eq!(parse(&xml).unwrap(), a);
    }

    #[test]
    fn status_codes() {
        assert_eq!(
            AppRecStatus::from_code("3"),
            Some(AppRecStatus::OkWithErrors)
        );
        assert_eq!(AppRecStatus::from_code("0"), None);
    }
}
