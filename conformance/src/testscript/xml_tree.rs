//! XPath child steps on an XML document (quick-xml): the engine's XPath on XML responses.

use quick_xml::events::Event;

use super::paths::Step;

#[derive(Debug, Default)]
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<Element>,
    text: String,
}

fn local(name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    match name.rsplit_once(':') {
        Some((_, l)) => l.to_string(),
        None => name.into_owned(),
    }
}

fn element(e: &quick_xml::events::BytesStart<'_>) -> Result<Element, String> {
    let mut attributes = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|e| format!("the XML is not well-formed: {e}"))?;
        let value = a
            .unescape_value()
            .map_err(|e| format!("the XML is not well-formed: {e}"))?;
        attributes.push((local(a.key.as_ref()), value.into_owned()));
    }
    Ok(Element {
        name: local(e.name().as_ref()),
        attributes,
        ..Default::default()
    })
}

fn parse(xml: &str) -> Result<Element, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<Element> = Vec::new();
    let malformed = |e: &dyn std::fmt::Display| format!("the XML is not well-formed: {e}");
    loop {
        let done = match reader.read_event().map_err(|e| malformed(&e))? {
            Event::Start(e) => {
                stack.push(element(&e)?);
                None
            }
            Event::Empty(e) => Some(element(&e)?),
            Event::End(_) => stack.pop(),
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.decode().map_err(|e| malformed(&e))?);
                }
                None
            }
            Event::Eof => break,
            _ => None,
        };
        if let Some(done) = done {
            match stack.last_mut() {
                Some(parent) => parent.children.push(done),
                None => return Ok(done),
            }
        }
    }
    Err("the XML has no complete root element".into())
}

/// The values `steps` (the first one the root) and `attribute` select in `xml`.
pub fn select(xml: &str, steps: &[Step], attribute: Option<&str>) -> Result<Vec<String>, String> {
    let root = parse(xml)?;
    let Some((first, rest)) = steps.split_first() else {
        return Ok(Vec::new());
    };
    if root.name != first.name {
        return Ok(Vec::new());
    }
    let mut current = vec![&root];
    for step in rest {
        let mut next = Vec::new();
        for node in current {
            let children = node.children.iter().filter(|c| c.name == step.name);
            match step.index {
                Some(n) => next.extend(children.skip(n - 1).take(1)),
                None => next.extend(children),
            }
        }
        current = next;
    }
    Ok(current
        .into_iter()
        .filter_map(|node| match attribute {
            Some(attr) => node
                .attributes
                .iter()
                .find_map(|(k, v)| (k == attr).then(|| v.clone())),
            None => Some(node.text.trim().to_string()),
        })
        .collect())
}
