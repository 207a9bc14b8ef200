//! The XML of the EDI 2.0 message service: a Hodemelding (MsgHead 1.2) carrying a
//! Dialogmelding 1.1 note, the receiver-side structure check of such a message, and the
//! application receipt (AppRec 1.1) that answers it. Pure text in, text out: transport,
//! signing and encryption live with the connector.
//!
//! Element names, cardinalities and attribute sets follow the KITH schemas
//! MsgHead-v1_2.xsd, dialogmelding-v1.1.xsd, felleskomponent1.xsd and AppRec-v1_1.xsd.

pub mod apprec;
pub mod msghead;
pub mod structure;

use std::borrow::Cow;

use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::name::QName;
use quick_xml::Writer;

pub const NS_MSGHEAD: &str = "http://www.kith.no/xmlstds/msghead/2006-05-24";
pub const NS_DIALOG: &str = "http://www.kith.no/xmlstds/dialog/2013-01-23";
/// Dialogmelding takes its `Ident` type from here, so `Id`/`TypeId` under a
/// HealthcareProfessional's `Ident` are in this namespace, not the Dialogmelding one.
pub const NS_FK1: &str = "http://www.kith.no/xmlstds/felleskomponent1";
pub const NS_APPREC: &str = "http://www.kith.no/xmlstds/apprec/2012-02-15";
/// AppRec 1.0: same elements as 1.1, other namespace; some counterparties (NAV among
/// them) still answer with it, so receipts in it are read, never written.
pub const NS_APPREC_10: &str = "http://www.kith.no/xmlstds/apprec/2004-11-21";

/// Kodeverk 9051 (identifier types for organisations): HER-id and the Enhetsregisteret
/// organisation number.
pub(crate) const OID_ORG_IDENT: &str = "2.16.578.1.12.4.1.1.9051";
/// Kodeverk 8116 (identifier types for persons): FNR, DNR, HPR.
pub(crate) const OID_PERSON_IDENT: &str = "2.16.578.1.12.4.1.1.8116";

#[derive(Debug, thiserror::Error)]
pub enum EdiXmlError {
    /// The input cannot become a message a receiver would accept.
    #[error("{field}: {message}")]
    Input { field: String, message: String },
    /// Not well-formed XML, or XML this module refuses to read (a DTD, an unknown entity).
    #[error("not well-formed XML: {0}")]
    Malformed(String),
    #[error("root element is {found}, expected {expected}")]
    ForeignRoot { expected: String, found: String },
    #[error("{path}: {message}")]
    Content { path: String, message: String },
    #[error("writing XML: {0}")]
    Write(#[from] std::io::Error),
}

impl EdiXmlError {
    pub(crate) fn input(field: &str, message: impl Into<String>) -> Self {
        Self::Input {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// `Some(c)` for the first character XML 1.0 cannot carry at all, escaped or not.
/// Refused rather than dropped: silently changing clinical text is worse than not sending.
pub(crate) fn first_illegal_char(s: &str) -> Option<char> {
    s.chars().find(|&c| {
        matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}')
            || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    })
}

/// A thin layer over quick-xml's writer that owns the escaping: quick-xml's own escape
/// leaves CR (and, in attributes, TAB/LF) literal, and a receiving parser would then
/// normalise them away, so the text would not arrive as sent.
pub(crate) struct XmlOut {
    w: Writer<Vec<u8>>,
}

impl XmlOut {
    pub(crate) fn new() -> Result<Self, EdiXmlError> {
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        Ok(Self { w })
    }

    fn start<'a>(name: &'a str, attrs: &[(&'a str, &str)]) -> Result<BytesStart<'a>, EdiXmlError> {
        let mut start = BytesStart::new(name);
        for (key, value) in attrs {
            if let Some(c) = first_illegal_char(value) {
                return Err(EdiXmlError::input(
                    &format!("{name}/@{key}"),
                    format!("character U+{:04X} cannot be sent in XML", c as u32),
                ));
            }
            start.push_attribute(Attribute {
                key: QName(key.as_bytes()),
                value: Cow::Owned(escape_attr(value).into_bytes()),
            });
        }
        Ok(start)
    }

    pub(crate) fn open(&mut self, name: &str, attrs: &[(&str, &str)]) -> Result<(), EdiXmlError> {
        let start = Self::start(name, attrs)?;
        self.w.write_event(Event::Start(start))?;
        Ok(())
    }

    pub(crate) fn close(&mut self, name: &str) -> Result<(), EdiXmlError> {
        self.w.write_event(Event::End(BytesEnd::new(name)))?;
        Ok(())
    }

    pub(crate) fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) -> Result<(), EdiXmlError> {
        let start = Self::start(name, attrs)?;
        self.w.write_event(Event::Empty(start))?;
        Ok(())
    }

    /// `<name>text</name>`.
    pub(crate) fn leaf(&mut self, name: &str, text: &str) -> Result<(), EdiXmlError> {
        if let Some(c) = first_illegal_char(text) {
            return Err(EdiXmlError::input(
                name,
                format!("character U+{:04X} cannot be sent in XML", c as u32),
            ));
        }
        self.open(name, &[])?;
        self.w
            .write_event(Event::Text(BytesText::from_escaped(escape_text(text))))?;
        self.close(name)
    }

    pub(crate) fn finish(self) -> Result<String, EdiXmlError> {
        String::from_utf8(self.w.into_inner())
            .map_err(|e| EdiXmlError::Write(std::io::Error::other(e)))
    }
}

fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            _ => out.push(c),
        }
    }
    out
}

fn escape_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            _ => out.push(c),
        }
    }
    out
}
