//! JSON ↔ XML through fhirbolt's R4 model. JSON is the stored form; XML is converted at the
//! edge, so every XML request and response passes the same typed model.

use fhirbolt::model::r4::Resource;
use fhirbolt::serde::{DeserializationConfig, DeserializationMode};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("the XML is not a valid FHIR R4 resource: {0}")]
    InvalidXml(String),
    #[error("the JSON cannot be written as FHIR XML: {0}")]
    Unrepresentable(String),
}

fn strict() -> Option<DeserializationConfig> {
    Some(DeserializationConfig {
        mode: DeserializationMode::Strict,
    })
}

/// Reads a FHIR XML resource strictly (unknown elements and malformed values are errors)
/// and returns its JSON form.
pub fn xml_to_json(xml: &str) -> Result<serde_json::Value, FormatError> {
    let narratives = raw_narratives(xml)?;
    let resource: Resource = fhirbolt::xml::from_str(xml, strict())
        .map_err(|e| FormatError::InvalidXml(e.to_string()))?;
    let json = fhirbolt::json::to_string(&resource, None)
        .map_err(|e| FormatError::InvalidXml(e.to_string()))?;
    let mut value: serde_json::Value =
        serde_json::from_str(&json).map_err(|e| FormatError::InvalidXml(e.to_string()))?;
    restore_narratives(&mut value, narratives);
    Ok(value)
}

/// Checks that the document is well-formed (fhirbolt's reader accepts a document cut off
/// before its end tags) and returns its narrative `<div>`s exactly as written, in document
/// order: fhirbolt trims the text inside them, which changes what a reader sees
/// ("James <b>Chalmers</b>" would become "James<b>Chalmers</b>").
fn raw_narratives(xml: &str) -> Result<Vec<&str>, FormatError> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<Vec<u8>> = Vec::new();
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader
            .read_event()
            .map_err(|e| FormatError::InvalidXml(format!("the XML is not well-formed: {e}")))?;
        let after = reader.buffer_position() as usize;
        let opens_narrative = |name: &[u8], stack: &[Vec<u8>]| {
            name == b"div" && stack.last().is_some_and(|p| p.as_slice() == b"text")
        };
        match event {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_vec();
                if depth > 0 {
                    depth += 1;
                } else if opens_narrative(&name, &stack) {
                    depth = 1;
                    start = before;
                }
                stack.push(name);
            }
            Event::End(_) => {
                stack.pop();
                if depth > 0 {
                    depth -= 1;
                    if depth == 0 {
                        out.push(&xml[start..after]);
                    }
                }
            }
            Event::Empty(e) if depth == 0 && opens_narrative(e.local_name().as_ref(), &stack) => {
                out.push(&xml[before..after]);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(FormatError::InvalidXml(format!(
            "the XML is not well-formed: <{}> is never closed",
            String::from_utf8_lossy(open)
        )));
    }
    Ok(out)
}

/// Puts the raw narratives back in document order, each only where it says the same as
/// fhirbolt's version apart from whitespace (so a reordered document cannot mix them up).
fn restore_narratives(value: &mut serde_json::Value, raw: Vec<&str>) {
    fn squeeze(s: &str) -> String {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    }
    fn walk(v: &mut serde_json::Value, raw: &mut std::slice::Iter<'_, &str>) {
        match v {
            serde_json::Value::Object(o) => {
                for (k, child) in o.iter_mut() {
                    if k == "text" {
                        if let Some(serde_json::Value::String(div)) = child.get_mut("div") {
                            if let Some(original) = raw.next() {
                                if squeeze(original) == squeeze(div) {
                                    *div = original.to_string();
                                }
                            }
                            continue;
                        }
                    }
                    walk(child, raw);
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| walk(i, raw)),
            _ => {}
        }
    }
    walk(value, &mut raw.iter());
}

/// Writes a stored (already checked) JSON resource as FHIR XML.
pub fn json_to_xml(json: &str) -> Result<String, FormatError> {
    let resource: Resource = fhirbolt::json::from_str(
        json,
        Some(DeserializationConfig {
            mode: DeserializationMode::Lax,
        }),
    )
    .map_err(|e| FormatError::Unrepresentable(e.to_string()))?;
    fhirbolt::xml::to_string(&resource, None)
        .map_err(|e| FormatError::Unrepresentable(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_round_trips_through_json_keeping_decimals() {
        let json = r#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1.50,"unit":"mg"}}"#;
        let xml = json_to_xml(json).unwrap();
        assert!(xml.contains(r#"<value value="1.50"/>"#), "{xml}");
        let back = xml_to_json(&xml).unwrap();
        let original: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(back, original);
    }

    #[test]
    fn narrative_whitespace_survives_xml() {
        let xml = "<Patient xmlns=\"http://hl7.org/fhir\"><text><status value=\"generated\"/><div xmlns=\"http://www.w3.org/1999/xhtml\">\n  Peter James \n  <b>Chalmers</b> (&quot;Jim&quot;)\n</div></text><active value=\"true\"/></Patient>";
        let json = xml_to_json(xml).unwrap();
        assert_eq!(
            json["text"]["div"],
            "<div xmlns=\"http://www.w3.org/1999/xhtml\">\n  Peter James \n  <b>Chalmers</b> (&quot;Jim&quot;)\n</div>"
        );
    }

    #[test]
    fn unknown_xml_elements_are_errors() {
        let err = xml_to_json(r#"<Patient xmlns="http://hl7.org/fhir"><foo value="1"/></Patient>"#)
            .unwrap_err();
        assert!(err.to_string().contains("foo"), "{err}");
    }

    #[test]
    fn malformed_xml_is_an_error() {
        assert!(
            xml_to_json("<Patient xmlns=\"http://hl7.org/fhir\"><active value=\"true\">").is_err()
        );
    }
}
