//! txt-1 and txt-2 (`Narrative.div`), whose FHIRPath is `htmlChecks()`, a function rh-fhirpath
//! does not implement: the narrative uses only basic HTML formatting (no scripts, forms,
//! frames or event handlers), and has some non-whitespace content.

use quick_xml::events::{BytesStart, Event};

/// The elements txt-1 allows: HTML 4.0 chapters 7-11 (except 9.4) and 12, `a`, images and
/// tables, as the FHIR specification lists them.
const ALLOWED: &[&str] = &[
    "p",
    "br",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "a",
    "span",
    "b",
    "em",
    "i",
    "strong",
    "small",
    "big",
    "tt",
    "dfn",
    "q",
    "var",
    "abbr",
    "acronym",
    "cite",
    "blockquote",
    "hr",
    "address",
    "bdo",
    "kbd",
    "sub",
    "sup",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "pre",
    "table",
    "caption",
    "colgroup",
    "col",
    "thead",
    "tr",
    "tfoot",
    "tbody",
    "th",
    "td",
    "code",
    "samp",
    "img",
    "map",
    "area",
    "ins",
    "del",
];

/// What is wrong with a narrative div, as (key, problem).
pub(super) fn problems(div: &str) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut reader = quick_xml::Reader::from_str(div);
    let mut content = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                if let Some(problem) = element_problem(&e) {
                    out.push(("txt-1", problem));
                }
                content |= e.local_name().as_ref() == b"img";
            }
            Ok(Event::Text(t)) => {
                content |= t.iter().any(|c| !c.is_ascii_whitespace());
            }
            Ok(Event::CData(t)) => {
                content |= t.iter().any(|c| !c.is_ascii_whitespace());
            }
            Ok(Event::GeneralRef(_)) => content = true,
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                out.push((
                    "txt-1",
                    format!("the narrative is not well-formed XHTML: {e}"),
                ));
                return out;
            }
        }
    }
    if !content {
        out.push((
            "txt-2",
            "the narrative has no non-whitespace content".to_string(),
        ));
    }
    out
}

fn element_problem(e: &BytesStart<'_>) -> Option<String> {
    let name = String::from_utf8_lossy(e.local_name().as_ref()).to_ascii_lowercase();
    if !ALLOWED.contains(&name.as_str()) {
        return Some(format!("the narrative uses <{name}>, which is not allowed"));
    }
    for attr in e.attributes().flatten() {
        let key = String::from_utf8_lossy(attr.key.local_name().as_ref()).to_ascii_lowercase();
        if key.starts_with("on") {
            return Some(format!(
                "the narrative has an event handler attribute '{key}' on <{name}>"
            ));
        }
        let value = String::from_utf8_lossy(&attr.value).to_ascii_lowercase();
        if (key == "href" || key == "src") && value.trim_start().starts_with("javascript:") {
            return Some(format!("the narrative has a script URL in <{name} {key}>"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "xmlns=\"http://www.w3.org/1999/xhtml\"";

    #[test]
    fn validate_narrative_basic_html_passes() {
        let div = format!("<div {NS}><p>Kari <b>Nordmann</b> &amp; <a href=\"#x\">x</a></p></div>");
        assert!(problems(&div).is_empty());
        assert!(problems(&format!("<div {NS}><img src=\"a.png\"/></div>")).is_empty());
    }

    #[test]
    fn validate_narrative_scripts_and_empty_fail() {
        let p = problems(&format!("<div {NS}><script>alert(1)</script></div>"));
        assert_eq!(p[0].0, "txt-1");
        let p = problems(&format!("<div {NS}><p onclick=\"x()\">a</p></div>"));
        assert_eq!(p[0].0, "txt-1");
        let p = problems(&format!("<div {NS}>  <p> </p></div>"));
        assert_eq!(
            p,
            vec![(
                "txt-2",
                "the narrative has no non-whitespace content".to_string()
            )]
        );
    }
}
