//! What a receiver checks before it acknowledges a MsgHead: well-formed XML, the elements
//! it cannot do without, each in its namespace (resolved, so the prefixes a sender chose
//! do not matter). Not a schema validation: optional elements are not looked at, and
//! national-id check digits are the caller's (helsebro_profiles).
//!
//! Also home of the small namespace-resolved tree the AppRec reader shares.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use super::{EdiXmlError, NS_DIALOG, NS_MSGHEAD};

/// What the connector needs from an accepted message to acknowledge and route it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub msg_id: String,
    pub msg_type: String,
    /// The most specific organisation level that has a HER-id: a department's when the
    /// sender nests one, since that is the communication party the receipt goes to.
    pub sender_her_id: String,
    pub receiver_her_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructureError {
    /// Slash-separated local names from the root, e.g. `MsgHead/MsgInfo/MsgId`;
    /// `/` for the document as a whole.
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for StructureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

const MIG_VERSION: &str = "v1.2 2006-05-24";
/// Message types whose content is a Dialogmelding: DIALOG_NOTAT is what we send, and
/// DIALOG_HELSEFAGLIG is the type Dialogmelding 1.1 names for the same content.
const DIALOG_TYPES: [&str; 2] = ["DIALOG_NOTAT", "DIALOG_HELSEFAGLIG"];

pub fn check_msghead(xml: &str) -> Result<Inbound, Vec<StructureError>> {
    let root = parse_tree(xml).map_err(|e| vec![err("/", e.to_string())])?;
    if root.name != "MsgHead" {
        return Err(vec![err(
            "/",
            format!("root element is {}, expected MsgHead", root.qualified()),
        )]);
    }
    if !root.in_ns(NS_MSGHEAD) {
        return Err(vec![wrong_ns("MsgHead", &root, NS_MSGHEAD)]);
    }
    let mut ck = Checker::default();
    let inbound = ck.msghead(&root);
    match inbound {
        Some(inbound) if ck.errors.is_empty() => Ok(inbound),
        // Every `None` records its reason; the fallback keeps `Err` never empty regardless.
        _ if ck.errors.is_empty() => Err(vec![err("MsgHead", "incomplete")]),
        _ => Err(ck.errors),
    }
}

#[derive(Default)]
struct Checker {
    errors: Vec<StructureError>,
}

impl Checker {
    fn msghead(&mut self, root: &Node) -> Option<Inbound> {
        let p = "MsgHead";
        let info = self.child(root, p, NS_MSGHEAD, "MsgInfo");
        let header = info.map(|info| self.msg_info(info, &format!("{p}/MsgInfo")));
        let documents = self.children(root, p, NS_MSGHEAD, "Document");
        let content = match documents.first() {
            // The first Document is the business document; attachments follow it.
            Some(doc) => {
                let dp = format!("{p}/Document");
                self.child(doc, &dp, NS_MSGHEAD, "RefDoc")
                    .and_then(|refdoc| {
                        self.child(refdoc, &format!("{dp}/RefDoc"), NS_MSGHEAD, "Content")
                    })
            }
            None => {
                self.errors.push(err(&format!("{p}/Document"), "missing"));
                None
            }
        };
        // Read straight from the tree so a header missing something else still gets
        // its content checked, and all problems are reported at once.
        let msg_type = info
            .and_then(|i| i.first_child(NS_MSGHEAD, "Type"))
            .and_then(|t| t.attr("V"))
            .map(str::trim);
        if let (Some(content), Some(msg_type)) = (content, msg_type) {
            if DIALOG_TYPES.contains(&msg_type) {
                self.dialogmelding(content, &format!("{p}/Document/RefDoc/Content"));
            }
        }
        header.flatten()
    }

    fn msg_info(&mut self, info: &Node, p: &str) -> Option<Inbound> {
        let msg_type = self
            .child(info, p, NS_MSGHEAD, "Type")
            .and_then(|t| self.attr(t, &format!("{p}/Type"), "V"));
        if let Some(version) = self.text(info, p, NS_MSGHEAD, "MIGversion") {
            if version != MIG_VERSION {
                self.errors.push(err(
                    &format!("{p}/MIGversion"),
                    format!("is {version:?}, expected {MIG_VERSION:?}"),
                ));
            }
        }
        if let Some(gen_date) = self.text(info, p, NS_MSGHEAD, "GenDate") {
            if !looks_like_date_time(gen_date) {
                self.errors.push(err(
                    &format!("{p}/GenDate"),
                    format!("{gen_date:?} is not an xs:dateTime"),
                ));
            }
        }
        let msg_id = self.text(info, p, NS_MSGHEAD, "MsgId");
        let sender = self.party(info, p, "Sender");
        let receiver = self.party(info, p, "Receiver");
        self.patient(info, p);
        Some(Inbound {
            msg_id: msg_id?.to_string(),
            msg_type: msg_type?.to_string(),
            sender_her_id: sender?,
            receiver_her_id: receiver?,
        })
    }

    fn party(&mut self, info: &Node, p: &str, role: &str) -> Option<String> {
        let rp = format!("{p}/{role}");
        let org = self
            .child(info, p, NS_MSGHEAD, role)
            .and_then(|r| self.child(r, &rp, NS_MSGHEAD, "Organisation"))?;
        let op = format!("{rp}/Organisation");
        let top = self.her_id(org, &op);
        if top.is_none() {
            self.errors.push(err(
                &format!("{op}/Ident"),
                "no Ident with TypeId V=\"HER\" and a numeric Id",
            ));
        }
        // Nested Organisations are departments/services of the one above; only a
        // top level without a HER-id is an error.
        let mut deepest = top;
        let mut current = org;
        let mut path = op;
        while let Some(sub) = current.first_child(NS_MSGHEAD, "Organisation") {
            path.push_str("/Organisation");
            if let Some(her) = self.her_id(sub, &path) {
                deepest = Some(her);
            }
            current = sub;
        }
        deepest
    }

    fn her_id(&mut self, org: &Node, p: &str) -> Option<String> {
        self.children(org, p, NS_MSGHEAD, "Ident")
            .into_iter()
            .find_map(|ident| {
                let type_v = ident.first_child(NS_MSGHEAD, "TypeId")?.attr("V")?;
                let id = ident.first_child(NS_MSGHEAD, "Id")?.text().trim();
                (type_v == "HER" && is_digits(id)).then(|| id.to_string())
            })
    }

    fn patient(&mut self, info: &Node, p: &str) {
        let Some(patient) = self.child(info, p, NS_MSGHEAD, "Patient") else {
            return;
        };
        let pp = format!("{p}/Patient");
        let national = self
            .children(patient, &pp, NS_MSGHEAD, "Ident")
            .into_iter()
            .find(|ident| {
                ident
                    .first_child(NS_MSGHEAD, "TypeId")
                    .and_then(|t| t.attr("V"))
                    .is_some_and(|v| v == "FNR" || v == "DNR")
            });
        let Some(ident) = national else {
            self.errors.push(err(
                &format!("{pp}/Ident"),
                "no Ident with TypeId V=\"FNR\" or \"DNR\"",
            ));
            return;
        };
        let ip = format!("{pp}/Ident");
        if let Some(id) = self.text(ident, &ip, NS_MSGHEAD, "Id") {
            if id.len() != 11 || !is_digits(id) {
                self.errors
                    .push(err(&format!("{ip}/Id"), "is not an 11-digit national id"));
            }
        }
    }

    fn dialogmelding(&mut self, content: &Node, p: &str) {
        let Some(dialog) = self.child(content, p, NS_DIALOG, "Dialogmelding") else {
            return;
        };
        let dp = format!("{p}/Dialogmelding");
        let Some(notat) = self.child(dialog, &dp, NS_DIALOG, "Notat") else {
            return;
        };
        // Dialogmelding 1.1 lets the note text carry XHTML, so only its presence counts.
        let np = format!("{dp}/Notat");
        if let Some(text) = self.child(notat, &np, NS_DIALOG, "TekstNotatInnhold") {
            if text.text().trim().is_empty() && text.children.is_empty() {
                self.errors
                    .push(err(&format!("{np}/TekstNotatInnhold"), "is empty"));
            }
        }
    }

    /// The first `name` child in `ns`; records an error naming the namespace when the
    /// element is there under another one, else that it is missing.
    fn child<'a>(&mut self, parent: &'a Node, p: &str, ns: &str, name: &str) -> Option<&'a Node> {
        let path = format!("{p}/{name}");
        if let Some(found) = parent.first_child(ns, name) {
            return Some(found);
        }
        match parent.children.iter().find(|c| c.name == name) {
            Some(other) => self.errors.push(wrong_ns(&path, other, ns)),
            None => self.errors.push(err(&path, "missing")),
        }
        None
    }

    /// All `name` children in `ns`; same-named children in another namespace are errors.
    fn children<'a>(&mut self, parent: &'a Node, p: &str, ns: &str, name: &str) -> Vec<&'a Node> {
        let mut found = Vec::new();
        for c in parent.children.iter().filter(|c| c.name == name) {
            if c.in_ns(ns) {
                found.push(c);
            } else {
                self.errors.push(wrong_ns(&format!("{p}/{name}"), c, ns));
            }
        }
        found
    }

    fn text<'a>(&mut self, parent: &'a Node, p: &str, ns: &str, name: &str) -> Option<&'a str> {
        let value = self.child(parent, p, ns, name)?.text().trim();
        if value.is_empty() {
            self.errors.push(err(&format!("{p}/{name}"), "is empty"));
            return None;
        }
        Some(value)
    }

    fn attr<'a>(&mut self, node: &'a Node, p: &str, attr: &str) -> Option<&'a str> {
        match node.attr(attr).map(str::trim) {
            Some(v) if !v.is_empty() => Some(v),
            _ => {
                self.errors.push(err(&format!("{p}/@{attr}"), "missing"));
                None
            }
        }
    }
}

fn err(path: &str, message: impl Into<String>) -> StructureError {
    StructureError {
        path: path.to_string(),
        message: message.into(),
    }
}

fn wrong_ns(path: &str, found: &Node, expected: &str) -> StructureError {
    err(
        path,
        format!(
            "in namespace {}, expected {expected}",
            found.ns.as_deref().unwrap_or("(none)")
        ),
    )
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The lexical start of an xs:dateTime (`YYYY-MM-DDThh:mm:ss`); fractions and zone
/// may follow. Enough to refuse a date or free text where a timestamp belongs.
pub(crate) fn looks_like_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 19
        && b[..19].iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            _ => c.is_ascii_digit(),
        })
}

/// An element with its namespace resolved and its text joined, for reading the small
/// messages of this module without caring which prefixes the sender chose.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) ns: Option<String>,
    pub(crate) name: String,
    /// Unprefixed attributes only: every attribute these standards define is unprefixed,
    /// and xmlns/xsi ones are not content.
    attrs: Vec<(String, String)>,
    pub(crate) children: Vec<Node>,
    text: String,
}

impl Node {
    pub(crate) fn in_ns(&self, ns: &str) -> bool {
        self.ns.as_deref() == Some(ns)
    }

    pub(crate) fn qualified(&self) -> String {
        match &self.ns {
            Some(ns) => format!("{{{ns}}}{}", self.name),
            None => self.name.clone(),
        }
    }

    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The element's own character data (not its descendants'), as sent.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn first_child(&self, ns: &str, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name && c.in_ns(ns))
    }

    pub(crate) fn children_named<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Node> + 'a {
        self.children
            .iter()
            .filter(move |c| c.name == name && c.in_ns(ns))
    }
}

/// Deeper than any of these messages nest; bounds the work a hostile document causes
/// (and the recursion of dropping its tree).
const MAX_DEPTH: usize = 64;

pub(crate) fn parse_tree(xml: &str) -> Result<Node, EdiXmlError> {
    let mut reader = NsReader::from_str(xml);
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    loop {
        let (ns, event) = match reader.read_resolved_event() {
            Ok((ns, event)) => (owned_ns(ns)?, event),
            Err(e) => return Err(malformed(e)),
        };
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(EdiXmlError::Malformed(
                        "content after the root element".into(),
                    ));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(EdiXmlError::Malformed(format!(
                        "elements nest deeper than {MAX_DEPTH}"
                    )));
                }
                stack.push(node(ns, &start)?);
            }
            Event::Empty(start) => attach(&mut stack, &mut root, node(ns, &start)?)?,
            Event::End(_) => {
                // quick-xml has already matched the end tag against its start.
                let done = stack.pop().ok_or_else(|| malformed("unmatched end tag"))?;
                attach(&mut stack, &mut root, done)?;
            }
            Event::Text(text) => {
                let text = text.xml10_content().map_err(malformed)?;
                push_text(&mut stack, &text)?;
            }
            Event::CData(data) => {
                let data = data.decode().map_err(malformed)?;
                push_text(&mut stack, &data)?;
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(malformed)? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = r.decode().map_err(malformed)?;
                        resolve_predefined_entity(&name)
                            .ok_or_else(|| malformed(format!("undeclared entity &{name};")))?
                            .to_string()
                    }
                };
                push_text(&mut stack, &resolved)?;
            }
            // No EDI message has a DTD; refusing it rules out entity tricks.
            Event::DocType(_) => return Err(malformed("a DOCTYPE is not accepted")),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(malformed(format!("document ends inside <{}>", open.name)));
    }
    root.ok_or_else(|| malformed("no root element"))
}

fn malformed(e: impl std::fmt::Display) -> EdiXmlError {
    EdiXmlError::Malformed(e.to_string())
}

fn owned_ns(ns: ResolveResult<'_>) -> Result<Option<String>, EdiXmlError> {
    match ns {
        ResolveResult::Bound(ns) => Ok(Some(String::from_utf8_lossy(ns.0).into_owned())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(prefix) => Err(malformed(format!(
            "undeclared namespace prefix {}",
            String::from_utf8_lossy(&prefix)
        ))),
    }
}

fn node(ns: Option<String>, start: &BytesStart<'_>) -> Result<Node, EdiXmlError> {
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(malformed)?;
        let key = attr.key;
        if key.as_namespace_binding().is_some() || key.prefix().is_some() {
            continue;
        }
        let value = attr.unescape_value().map_err(malformed)?;
        attrs.push((
            String::from_utf8_lossy(key.as_ref()).into_owned(),
            value.into_owned(),
        ));
    }
    Ok(Node {
        ns,
        name,
        attrs,
        children: Vec::new(),
        text: String::new(),
    })
}

fn attach(stack: &mut [Node], root: &mut Option<Node>, done: Node) -> Result<(), EdiXmlError> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(done),
        None if root.is_none() => *root = Some(done),
        None => return Err(malformed("more than one root element")),
    }
    Ok(())
}

fn push_text(stack: &mut [Node], text: &str) -> Result<(), EdiXmlError> {
    match stack.last_mut() {
        Some(node) => node.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => return Err(malformed("text outside the root element")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::edi::msghead::tests::sample;
    use crate::delivery::edi::msghead::write;

    fn written() -> String {
        write(&sample()).unwrap()
    }

    /// `xml` without the first `<tag ...>...</tag>` that follows `after`.
    fn cut(xml: &str, after: &str, tag: &str) -> String {
        let from = xml.find(after).unwrap();
        let start = from + xml[from..].find(&format!("<{tag}")).unwrap();
        let close = format!("</{tag}>");
        let end = start + xml[start..].find(&close).unwrap() + close.len();
        format!("{}{}", &xml[..start], &xml[end..])
    }

    fn paths(errors: &[StructureError]) -> Vec<&str> {
        errors.iter().map(|e| e.path.as_str()).collect()
    }

    #[test]
    fn written_note_passes_and_round_trips_ids() {
        let inbound = check_msghead(&written()).unwrap();
        let note = sample();
        assert_eq!(inbound.msg_id, note.msg_id);
        assert_eq!(inbound.msg_type, "DIALOG_NOTAT");
        assert_eq!(inbound.sender_her_id, note.sender.her_id);
        assert_eq!(inbound.receiver_her_id, note.receiver.her_id);
    }

    #[test]
    fn prefixes_do_not_matter() {
        // Same document, MsgHead elements under an `mh:` prefix instead of the default.
        let xml = written();
        let start = xml.find("<Dialogmelding").unwrap();
        let end = xml.find("</Dialogmelding>").unwrap() + "</Dialogmelding>".len();
        let prefix = |s: &str| {
            s.replace("</", "\u{0}")
                .replace('<', "<mh:")
                .replace("<mh:?", "<?")
                .replace('\u{0}', "</mh:")
        };
        let xml = format!(
            "{}{}{}",
            prefix(&xml[..start]).replace("<mh:MsgHead xmlns=", "<mh:MsgHead xmlns:mh="),
            &xml[start..end],
            prefix(&xml[end..])
        );
        assert!(xml.contains("<mh:MsgId>"), "{xml}");
        let inbound = check_msghead(&xml).unwrap();
        assert_eq!(inbound.msg_id, sample().msg_id);
    }

    #[test]
    fn missing_msg_id_is_reported_at_its_path() {
        let errors = check_msghead(&cut(&written(), "<MsgInfo>", "MsgId")).unwrap_err();
        assert_eq!(paths(&errors), ["MsgHead/MsgInfo/MsgId"]);
    }

    #[test]
    fn missing_patient_ident_is_reported() {
        let errors = check_msghead(&cut(&written(), "<Patient>", "Ident")).unwrap_err();
        assert_eq!(paths(&errors), ["MsgHead/MsgInfo/Patient/Ident"]);
    }

    #[test]
    fn patient_id_must_have_eleven_digits() {
        let xml = written().replace(&sample().patient.national_id, "1234");
        let errors = check_msghead(&xml).unwrap_err();
        assert_eq!(paths(&errors), ["MsgHead/MsgInfo/Patient/Ident/Id"]);
    }

    #[test]
    fn dialogmelding_without_its_namespace_is_reported() {
        let xml = written().replace(
            &format!("<Dialogmelding xmlns=\"{NS_DIALOG}\""),
            "<Dialogmelding",
        );
        assert_ne!(xml, written());
        let errors = check_msghead(&xml).unwrap_err();
        assert_eq!(
            paths(&errors),
            ["MsgHead/Document/RefDoc/Content/Dialogmelding"]
        );
        assert!(errors[0].message.contains(NS_MSGHEAD), "{errors:?}");
    }

    #[test]
    fn correctly_named_element_in_wrong_namespace_is_refused() {
        let xml = written().replace("<MsgInfo>", "<MsgInfo xmlns=\"urn:example:other\">");
        let errors = check_msghead(&xml).unwrap_err();
        assert_eq!(paths(&errors), ["MsgHead/MsgInfo"]);
        assert!(errors[0].message.contains("urn:example:other"));

        let xml = written().replace("<MsgHead xmlns=\"", "<MsgHead xmlns=\"urn:x:");
        let errors = check_msghead(&xml).unwrap_err();
        assert_eq!(paths(&errors), ["MsgHead"]);
    }

    #[test]
    fn missing_note_text_is_reported() {
        let errors = check_msghead(&cut(&written(), "<Notat>", "TekstNotatInnhold")).unwrap_err();
        assert_eq!(
            paths(&errors),
            ["MsgHead/Document/RefDoc/Content/Dialogmelding/Notat/TekstNotatInnhold"]
        );
    }

    #[test]
    fn sender_without_her_id_is_reported() {
        let xml = written().replacen("V=\"HER\"", "V=\"XYZ\"", 1);
        let errors = check_msghead(&xml).unwrap_err();
        assert_eq!(
            paths(&errors),
            ["MsgHead/MsgInfo/Sender/Organisation/Ident"]
        );
    }

    #[test]
    fn several_problems_are_reported_together() {
        let xml = cut(&cut(&written(), "<MsgInfo>", "MsgId"), "<Patient>", "Ident").replace(
            &format!("<Dialogmelding xmlns=\"{NS_DIALOG}\""),
            "<Dialogmelding",
        );
        let errors = check_msghead(&xml).unwrap_err();
        assert_eq!(
            paths(&errors),
            [
                "MsgHead/MsgInfo/MsgId",
                "MsgHead/MsgInfo/Patient/Ident",
                "MsgHead/Document/RefDoc/Content/Dialogmelding"
            ]
        );
    }

    #[test]
    fn foreign_root_and_malformed_xml_are_refused() {
        let errors = check_msghead("<Envelope xmlns=\"urn:x\"/>").unwrap_err();
        assert_eq!(paths(&errors), ["/"]);
        let errors = check_msghead(&written().replace("</MsgInfo>", "")).unwrap_err();
        assert_eq!(paths(&errors), ["/"]);
        assert!(check_msghead("").is_err());
    }

    #[test]
    fn doctype_and_unknown_entities_are_refused() {
        let with_dtd = written().replacen(
            "<MsgHead",
            "<!DOCTYPE MsgHead [<!ENTITY x \"y\">]><MsgHead",
            1,
        );
        let errors = check_msghead(&with_dtd).unwrap_err();
        assert!(errors[0].message.contains("DOCTYPE"), "{errors:?}");
        let with_entity = written().replacen("<MsgId>", "<MsgId>&x;", 1);
        assert!(check_msghead(&with_entity).is_err());
    }

    #[test]
    fn nested_organisation_gives_the_most_specific_her_id() {
        let xml = written().replacen(
            "</Organisation>",
            "<Organisation><OrganisationName>Avdeling</OrganisationName><Ident><Id>777</Id>\
             <TypeId V=\"HER\" S=\"2.16.578.1.12.4.1.1.9051\" DN=\"HER-id\"/></Ident>\
             </Organisation></Organisation>",
            1,
        );
        let inbound = check_msghead(&xml).unwrap();
        assert_eq!(inbound.sender_her_id, "777");
        assert_eq!(inbound.receiver_her_id, sample().receiver.her_id);
    }

    #[test]
    fn tree_keeps_escaped_text_and_char_refs() {
        let root = parse_tree(
            "<a xmlns=\"urn:a\"><b V=\"x &amp; y\">1 &lt; 2&#13;&#x41;<![CDATA[<c>]]></b></a>",
        )
        .unwrap();
        let b = root.first_child("urn:a", "b").unwrap();
        assert_eq!(b.text(), "1 < 2\rA<c>");
        assert_eq!(b.attr("V"), Some("x & y"));
    }

    #[test]
    fn date_time_shape() {
        assert!(looks_like_date_time("2024-03-01T10:15:00"));
        assert!(looks_like_date_time("2024-03-01T10:15:00.123+01:00"));
        assert!(!looks_like_date_time("2024-03-01"));
        assert!(!looks_like_date_time("yesterday at ten o'clock"));
    }
}
