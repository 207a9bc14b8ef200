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
    let resource: Resource = fhirbolt::xml::from_str(xml, strict())
        .map_err(|e| FormatError::InvalidXml(e.to_string()))?;
    let json = fhirbolt::json::to_string(&resource, None)
        .map_err(|e| FormatError::InvalidXml(e.to_string()))?;
    serde_json::from_str(&json).map_err(|e| FormatError::InvalidXml(e.to_string()))
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
