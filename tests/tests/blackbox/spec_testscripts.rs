//! The six example TestScripts of the R4 specification (`TestScript-testscript-example*.json`
//! in npm `hl7.fhir.r4.examples@4.0.1`), replayed by hand: each test performs the script's
//! operations in order (setup, tests, teardown) with the same formats, and checks what each
//! of its asserts expects. `conformance_engine.rs` runs the same scripts through the
//! TestScript engine; this replay stays as an oracle independent of the engine, so a
//! server fault and an engine fault cannot hide each other.
//!
//! The fixtures `Patient/example` and `Patient/pat1` are the vendored
//! `profiles/examples/r4/Patient-example.json` and `Patient-pat1.json`. Operations with
//! `accept`/`contentType` `xml` are done in XML; the fixture is written as XML here.
//!
//! `validateProfileId` is approximated here by structural checks (namespace, root type, no
//! empty elements); the engine run checks it with the validator.
//!
//! Beyond what the scripts state, each replay first seeds the resources the fixtures
//! reference (`precondition_references_exist`): this server refuses writes whose references
//! to the types it serves do not resolve.

use helsebro_blackbox::reqwest::header::HeaderMap;
use helsebro_blackbox::reqwest::Method;
use helsebro_blackbox::{on_both_backends, TestServer};
use serde_json::Value;

use crate::r4_examples::{differences, example, seed_references, without};

// --- a minimal XML reader and writer ---------------------------------------------------

/// An XML element: what FHIR XML uses (elements and attributes; text is dropped).
#[derive(Debug)]
pub(crate) struct XmlElement {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<XmlElement>,
}

impl XmlElement {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find_map(|(k, v)| (k == name).then_some(v.as_str()))
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a XmlElement> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The `value` attributes at `path` below this element, in document order: the XPath
    /// `fhir:Root/fhir:a/fhir:b/@value` is `root.values(&["a", "b"])`.
    pub fn values<'a>(&'a self, path: &[&str]) -> Vec<&'a str> {
        match path.split_first() {
            None => self.attribute("value").into_iter().collect(),
            Some((first, rest)) => self
                .children
                .iter()
                .filter(|c| c.name == *first)
                .flat_map(|c| c.values(rest))
                .collect(),
        }
    }
}

fn decode_entities(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';').expect("entity ends with ';'") + i;
        let entity = &rest[i + 1..end];
        let c = match entity {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = match entity.strip_prefix("#x") {
                    Some(hex) => u32::from_str_radix(hex, 16),
                    None => entity.trim_start_matches('#').parse(),
                };
                code.ok()
                    .and_then(char::from_u32)
                    .unwrap_or_else(|| panic!("unknown entity &{entity};"))
            }
        };
        out.push(c);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Reads a start tag after its `<`: the element, whether it closes itself, and the rest.
fn start_tag(text: &str) -> (XmlElement, bool, &str) {
    let name_end = text
        .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .expect("a tag name");
    let mut element = XmlElement {
        name: text[..name_end].to_string(),
        attributes: Vec::new(),
        children: Vec::new(),
    };
    let mut rest = &text[name_end..];
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("/>") {
            return (element, true, r);
        }
        if let Some(r) = rest.strip_prefix('>') {
            return (element, false, r);
        }
        let eq = rest.find('=').expect("attribute '='");
        let name = rest[..eq].trim().to_string();
        let after = rest[eq + 1..].trim_start();
        let quote = after.chars().next().expect("a quoted attribute value");
        assert!(quote == '"' || quote == '\'', "unquoted attribute {name}");
        let close = after[1..].find(quote).expect("closing quote") + 1;
        element
            .attributes
            .push((name, decode_entities(&after[1..close])));
        rest = &after[close + 1..];
    }
}

/// Parses a document, asserting it is well-formed (tags balanced, one root).
pub(crate) fn parse_xml(text: &str) -> XmlElement {
    let mut stack: Vec<XmlElement> = Vec::new();
    let mut root = None;
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        rest = &rest[start..];
        let done = if let Some(r) = rest.strip_prefix("<?") {
            rest = &r[r.find("?>").expect("end of declaration") + 2..];
            None
        } else if let Some(r) = rest.strip_prefix("<!--") {
            rest = &r[r.find("-->").expect("end of comment") + 3..];
            None
        } else if let Some(r) = rest.strip_prefix("</") {
            let end = r.find('>').expect("end tag '>'");
            let element = stack.pop().expect("an end tag closes an open element");
            assert_eq!(
                element.name,
                r[..end].trim(),
                "mismatched end tag in {text}"
            );
            rest = &r[end + 1..];
            Some(element)
        } else {
            let (element, closed, r) = start_tag(&rest[1..]);
            rest = r;
            if closed {
                Some(element)
            } else {
                stack.push(element);
                None
            }
        };
        if let Some(element) = done {
            match stack.last_mut() {
                Some(parent) => parent.children.push(element),
                None => {
                    assert!(root.is_none(), "more than one root element");
                    root = Some(element);
                }
            }
        }
    }
    assert!(stack.is_empty(), "unclosed elements in {text}");
    root.expect("a root element")
}

fn escape_attribute(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
        .replace('\t', "&#9;")
}

/// Writes a FHIR JSON resource as FHIR XML (the JSON's element order is kept, which is the
/// definition order in the spec's examples).
fn to_xml(resource: &Value) -> String {
    let mut out = String::new();
    write_resource(resource, &mut out);
    out
}

fn write_resource(resource: &Value, out: &mut String) {
    let rtype = resource["resourceType"].as_str().expect("resourceType");
    out.push_str(&format!("<{rtype} xmlns=\"http://hl7.org/fhir\">"));
    write_children(resource, &["resourceType"], out);
    out.push_str(&format!("</{rtype}>"));
}

/// The elements of `object` except the keys written as attributes (`skip`).
fn write_children(object: &Value, skip: &[&str], out: &mut String) {
    let Some(fields) = object.as_object() else {
        return;
    };
    for (key, value) in fields {
        if skip.contains(&key.as_str()) || key.starts_with('_') {
            continue;
        }
        let extras = fields.get(&format!("_{key}"));
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    write_element(key, item, extras.and_then(|e| e.get(i)), out);
                }
            }
            _ => write_element(key, value, extras, out),
        }
    }
}

fn write_element(name: &str, value: &Value, extras: Option<&Value>, out: &mut String) {
    let attribute = |out: &mut String, key: &str, v: Option<&Value>| {
        if let Some(v) = v.and_then(Value::as_str) {
            out.push_str(&format!(" {key}=\"{}\"", escape_attribute(v)));
        }
    };
    match value {
        Value::Object(o) if o.contains_key("resourceType") => {
            out.push_str(&format!("<{name}>"));
            write_resource(value, out);
            out.push_str(&format!("</{name}>"));
        }
        Value::Object(o) => {
            let is_extension = name == "extension" || name == "modifierExtension";
            out.push_str(&format!("<{name}"));
            attribute(out, "id", o.get("id"));
            let skip: &[&str] = if is_extension {
                attribute(out, "url", o.get("url"));
                &["id", "url"]
            } else {
                &["id"]
            };
            out.push('>');
            write_children(value, skip, out);
            out.push_str(&format!("</{name}>"));
        }
        Value::String(xhtml) if name == "div" => out.push_str(xhtml),
        primitive => {
            let text = match primitive {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push_str(&format!("<{name}"));
            attribute(out, "id", extras.and_then(|e| e.get("id")));
            out.push_str(&format!(" value=\"{}\"", escape_attribute(&text)));
            match extras {
                Some(e) if e.get("extension").is_some() => {
                    out.push('>');
                    write_children(e, &["id"], out);
                    out.push_str(&format!("</{name}>"));
                }
                _ => out.push_str("/>"),
            }
        }
    }
}

// --- replaying operations and asserts --------------------------------------------------

/// TestScript's `accept`/`contentType` codes `json` and `xml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Xml,
}

impl Format {
    fn mime(self) -> &'static str {
        match self {
            Format::Json => "application/fhir+json",
            Format::Xml => "application/fhir+xml",
        }
    }
}

/// One operation with its request and response, for the asserts that follow it.
struct Exchange {
    method: Method,
    url: String,
    request_headers: Vec<(String, String)>,
    status: u16,
    headers: HeaderMap,
    body: String,
}

/// Performs an operation: `accept` becomes `Accept`, a body is sent in its format with
/// the matching `Content-Type`, `headers` are the script's `requestHeader`s.
async fn operation(
    s: &TestServer,
    method: Method,
    url: &str,
    accept: Option<Format>,
    body: Option<(Format, &Value)>,
    headers: &[(&str, &str)],
) -> Exchange {
    let url = s.url(url);
    let mut request_headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if let Some(f) = accept {
        request_headers.push(("Accept".into(), f.mime().into()));
    }
    let mut req = s.request(method.clone(), &url);
    if let Some((format, resource)) = body {
        request_headers.push(("Content-Type".into(), format.mime().into()));
        req = req.body(match format {
            Format::Json => resource.to_string(),
            Format::Xml => to_xml(resource),
        });
    }
    for (k, v) in &request_headers {
        req = req.header(k, v);
    }
    let r = req.send().await.expect("request");
    Exchange {
        method,
        url,
        request_headers,
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        body: r.text().await.expect("body"),
    }
}

async fn read(s: &TestServer, url: &str, accept: Option<Format>) -> Exchange {
    operation(s, Method::GET, url, accept, None, &[]).await
}

async fn delete(s: &TestServer, url: &str, accept: Option<Format>) -> Exchange {
    operation(s, Method::DELETE, url, accept, None, &[]).await
}

/// `update` of `Patient/{id}` with `fixture` as the body. Like TestScript engines, the
/// body's id is set to the target id (the update script sends `pat1` to `Patient/example`).
async fn update(s: &TestServer, id: &str, format: Format, fixture: &Value) -> Exchange {
    let mut body = fixture.clone();
    body["id"] = Value::String(id.to_string());
    let path = format!("Patient/{id}");
    operation(
        s,
        Method::PUT,
        &path,
        Some(format),
        Some((format, &body)),
        &[],
    )
    .await
}

impl Exchange {
    fn describe(&self) -> String {
        format!(
            "{} {} → {} {:?}\n{}",
            self.method, self.url, self.status, self.headers, self.body
        )
    }

    /// `response`/`responseCode` (with operator `in` when several are given).
    fn assert_status_in(&self, codes: &[u16]) {
        assert!(
            codes.contains(&self.status),
            "expected {codes:?}: {}",
            self.describe()
        );
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `headerField` with operator `notEmpty`; returns the value.
    fn assert_header_not_empty(&self, name: &str) -> &str {
        match self.header(name) {
            Some(v) if !v.trim().is_empty() => v,
            _ => panic!("expected a {name} header: {}", self.describe()),
        }
    }

    /// `contentType`: the response's Content-Type is the format's FHIR MIME type.
    fn assert_content_type(&self, format: Format) {
        let ct = self.header("content-type").unwrap_or_default();
        assert!(ct.starts_with(format.mime()), "{}", self.describe());
    }

    fn format(&self) -> Format {
        match self.header("content-type") {
            Some(ct) if ct.contains("xml") => Format::Xml,
            _ => Format::Json,
        }
    }

    fn xml(&self) -> XmlElement {
        assert_eq!(self.format(), Format::Xml, "{}", self.describe());
        parse_xml(&self.body)
    }

    fn json(&self) -> Value {
        assert_eq!(self.format(), Format::Json, "{}", self.describe());
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.describe()))
    }

    /// `resource`: the type of the returned resource.
    fn assert_resource(&self, rtype: &str) {
        let actual = match self.format() {
            Format::Xml => self.xml().name,
            Format::Json => self.json()["resourceType"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        };
        assert_eq!(actual, rtype, "{}", self.describe());
    }

    /// `validateProfileId` against a base profile, approximated without a validator: the
    /// right type in the FHIR namespace, and no element without a value or children (ele-1).
    fn assert_conforms_to_base(&self, rtype: &str) {
        self.assert_resource(rtype);
        match self.format() {
            Format::Xml => {
                let root = self.xml();
                assert_eq!(root.attribute("xmlns"), Some("http://hl7.org/fhir"));
                assert_no_empty_xml_elements(&root, &self.body);
            }
            Format::Json => assert_no_empty_json(&self.json(), "", &self.body),
        }
    }
}

fn assert_no_empty_xml_elements(e: &XmlElement, doc: &str) {
    if e.name == "div" {
        return;
    }
    assert!(
        e.attribute("value").is_some() || !e.children.is_empty(),
        "<{}> has neither a value nor children in {doc}",
        e.name
    );
    for c in &e.children {
        assert_no_empty_xml_elements(c, doc);
    }
}

fn assert_no_empty_json(v: &Value, path: &str, doc: &str) {
    let empty = match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    assert!(!empty, "{path} is empty in {doc}");
    match v {
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| assert_no_empty_json(x, &format!("{path}[{i}]"), doc)),
        Value::Object(o) => o
            .iter()
            .for_each(|(k, x)| assert_no_empty_json(x, &format!("{path}.{k}"), doc)),
        _ => {}
    }
}

/// `minimumId`: every element of `minimum` is in `actual` (arrays in any order), apart
/// from `id` and `meta`, which the server owns.
fn assert_minimum(minimum: &Value, actual: &Value) {
    fn contains(min: &Value, act: &Value) -> bool {
        match (min, act) {
            (Value::Object(m), Value::Object(a)) => m
                .iter()
                .all(|(k, v)| a.get(k).is_some_and(|av| contains(v, av))),
            (Value::Array(m), Value::Array(a)) => {
                m.iter().all(|v| a.iter().any(|av| contains(v, av)))
            }
            _ => min == act,
        }
    }
    let (m, a) = (
        without(minimum, &["id", "meta"]),
        without(actual, &["id", "meta"]),
    );
    assert!(
        contains(&m, &a),
        "not all of the fixture: {:?}",
        differences(&m, &a)
    );
}

/// The string values at `path` in JSON, arrays flattened (as the XPaths select them).
fn json_values<'a>(v: &'a Value, path: &[&str]) -> Vec<&'a str> {
    match (v, path.split_first()) {
        (Value::Array(items), _) => items.iter().flat_map(|i| json_values(i, path)).collect(),
        (_, None) => v.as_str().into_iter().collect(),
        (_, Some((first, rest))) => v.get(*first).map_or(Vec::new(), |c| json_values(c, rest)),
    }
}

fn first<'a>(values: &[&'a str]) -> &'a str {
    values.first().copied().unwrap_or_default()
}

/// Puts `fixture` on the server as its own id: the state a script assumes beforehand.
async fn precondition_exists(s: &TestServer, fixture: &Value) {
    let id = fixture["id"].as_str().expect("fixture id");
    update(s, id, Format::Json, fixture)
        .await
        .assert_status_in(&[200, 201]);
}

/// The resources `fixtures` reference exist: Organization/1 (the `managingOrganization` of
/// Patient-example and Patient-pat1) and, for Patient-pat1, Patient/pat2 (its `link.other`),
/// each a minimal resource with that id unless already there. The scripts assume nothing of
/// them, but this server refuses (422) a write whose literal references to the types it
/// serves (Patient, Organization, Practitioner, …) do not resolve within the tenant, a
/// product rule; so a conformance tester running these scripts against it would need these
/// referenced resources on the server beforehand, as the replays here seed them.
async fn precondition_references_exist(s: &TestServer, fixtures: &[&Value]) {
    for fixture in fixtures {
        seed_references(s, fixture)
            .await
            .unwrap_or_else(|why| panic!("seeding what the fixture references: {why}"));
    }
}

fn patient_example() -> Value {
    example("Patient-example.json")
}

fn patient_pat1() -> Value {
    example("Patient-pat1.json")
}

// --- TestScript-testscript-example.json ------------------------------------------------

/// Setup (delete if present, update-as-create, read), test `01-ReadPatient`, teardown.
async fn run_testscript_example(s: &TestServer) {
    let create = patient_example();
    // Variable createResourceId: path Patient/id of fixture-patient-create.
    let id = create["id"].as_str().expect("fixture id");
    let path = format!("Patient/{id}");

    // Setup.
    delete(s, &path, Some(Format::Json))
        .await
        .assert_status_in(&[200, 204]);
    let put = update(s, id, Format::Json, &create).await;
    put.assert_status_in(&[201]);
    let setup_read = read(s, &path, None).await;
    setup_read.assert_status_in(&[200]);
    let family = |v: &Value| json_values(&v["name"][0], &["family"]).concat();
    assert_eq!(family(&setup_read.json()), family(&create));

    // Test 01-ReadPatient.
    let r = read(s, &path, None).await;
    r.assert_status_in(&[200]);
    r.assert_header_not_empty("Last-Modified"); // warningOnly in the script
    r.assert_resource("Patient");
    r.assert_conforms_to_base("Patient");
    let read_back = r.json();
    let names = |v: &Value, part: &str| first(&json_values(v, &["name", part])).to_string();
    assert_eq!(names(&read_back, "family"), "Chalmers");
    assert_eq!(names(&read_back, "given"), "Peter");
    assert_eq!(names(&read_back, "family"), names(&create, "family"));
    assert_eq!(names(&read_back, "given"), names(&create, "given"));
    assert_minimum(&create, &read_back); // warningOnly in the script

    // Teardown.
    let teardown = delete(s, &path, None).await;
    assert!(
        (200..300).contains(&teardown.status),
        "{}",
        teardown.describe()
    );
}

async fn testscript_example(s: TestServer) {
    // Organization/1, referenced by the fixture (see `precondition_references_exist`).
    precondition_references_exist(&s, &[&patient_example()]).await;
    // A Patient/example left by another script (update and history have no teardown), so
    // the setup's delete removes an existing patient; the second run re-creates it after a
    // delete, which must again be 201.
    precondition_exists(&s, &patient_example()).await;
    run_testscript_example(&s).await;
    run_testscript_example(&s).await;
}

// --- TestScript-testscript-example-readtest.json ---------------------------------------

async fn testscript_example_readtest_r001_known_patient(s: TestServer) {
    // The script reads KnownPatientResourceId (default `example`), which it expects to exist,
    // with Organization/1 that it references (see `precondition_references_exist`).
    precondition_references_exist(&s, &[&patient_example()]).await;
    precondition_exists(&s, &patient_example()).await;
    let r = read(&s, "Patient/example", Some(Format::Xml)).await;
    r.assert_status_in(&[200]);
    r.assert_content_type(Format::Xml);
    r.assert_header_not_empty("Last-Modified"); // warningOnly in the script
    r.assert_resource("Patient");
    r.assert_conforms_to_base("Patient");
}

async fn testscript_example_readtest_r002_unknown_numeric_id(s: TestServer) {
    read(&s, "Patient/1", Some(Format::Xml))
        .await
        .assert_status_in(&[404]);
}

async fn testscript_example_readtest_r003_unknown_id(s: TestServer) {
    read(&s, "Patient/does-not-exist", Some(Format::Xml))
        .await
        .assert_status_in(&[404]);
}

async fn testscript_example_readtest_r004_id_with_capitals(s: TestServer) {
    // The script expects 400 ("bad"): a legacy rule from before R4. In R4 an id is
    // [A-Za-z0-9\-\.]{1,64}, so this is a valid id that does not exist: 404.
    read(&s, "Patient/ID-may-not-contain-CAPITALS", Some(Format::Xml))
        .await
        .assert_status_in(&[404]);
}

// --- TestScript-testscript-example-search.json -----------------------------------------

/// `navigationLinks: true`: the Bundle's links are there and each one resolves to a Bundle.
async fn assert_navigation_links(s: &TestServer, bundle: &XmlElement) {
    let links: Vec<(&str, &str)> = bundle
        .children_named("link")
        .map(|l| (first(&l.values(&["relation"])), first(&l.values(&["url"]))))
        .collect();
    assert!(links.iter().any(|(rel, _)| *rel == "self"), "{links:?}");
    for (relation, url) in links {
        assert!(
            url.starts_with("http"),
            "{relation} link is not absolute: {url}"
        );
        let r = read(s, url, Some(Format::Xml)).await;
        r.assert_status_in(&[200]);
        r.assert_resource("Bundle");
    }
}

/// `Bundle.total.toInteger() >= entry.count()`; returns the total.
fn assert_total_covers_entries(bundle: &XmlElement) -> usize {
    let total: usize = first(&bundle.values(&["total"]))
        .parse()
        .expect("Bundle.total");
    let entries = bundle.children_named("entry").count();
    assert!(total >= entries, "total {total} < {entries} entries");
    total
}

async fn testscript_example_search(s: TestServer) {
    let create = patient_example();
    // Organization/1, referenced by the fixture (see `precondition_references_exist`).
    precondition_references_exist(&s, &[&create]).await;

    // Setup: a search that matches nothing.
    let r = read(
        &s,
        "Patient?family=DONTEXPECTAMATCH&given=DONTEXPECTAMATCH",
        Some(Format::Xml),
    )
    .await;
    assert!(r.url.contains("family"), "requestURL contains family");
    r.assert_status_in(&[200]);
    r.assert_resource("Bundle");
    assert_navigation_links(&s, &r.xml()).await;

    // Test 01-PatientCreateSearch.
    let created = operation(
        &s,
        Method::POST,
        "Patient",
        Some(Format::Xml),
        Some((Format::Xml, &create)),
        &[],
    )
    .await;
    created.assert_status_in(&[201]);
    // Variable PatientCreateLocation: the next read uses it as its url.
    let location = created.assert_header_not_empty("Location").to_string();
    assert!(
        location.starts_with("http"),
        "absolute Location: {location}"
    );
    let r = read(&s, &location, Some(Format::Xml)).await;
    r.assert_status_in(&[200]);
    r.assert_resource("Patient");

    // Test 02-PatientSearchDynamic: the tester enters a known family and given name; those
    // of the patient just created.
    let r = read(&s, "Patient?family=Chalmers&given=Peter", Some(Format::Xml)).await;
    r.assert_status_in(&[200]);
    r.assert_content_type(Format::Xml);
    r.assert_resource("Bundle");
    r.assert_conforms_to_base("Bundle");
    let bundle = r.xml();
    assert_eq!(bundle.values(&["type"]), ["searchset"]);
    let total = assert_total_covers_entries(&bundle);
    assert!(total >= 1, "the created patient is found");
}

// --- TestScript-testscript-example-update.json -----------------------------------------

async fn testscript_example_update(s: TestServer) {
    let create = patient_example();
    let id = create["id"].as_str().expect("fixture id");
    // Organization/1 and Patient/pat2, referenced by the fixtures (see
    // `precondition_references_exist`).
    precondition_references_exist(&s, &[&create, &patient_pat1()]).await;

    // Setup.
    delete(&s, &format!("Patient/{id}"), Some(Format::Xml))
        .await
        .assert_status_in(&[200, 204]);
    update(&s, id, Format::Xml, &create)
        .await
        .assert_status_in(&[201]);

    // Test 01-UpdatePatient: fixture-patient-update (pat1) onto Patient/example.
    let r = update(&s, id, Format::Xml, &patient_pat1()).await;
    r.assert_status_in(&[200]);
    r.assert_content_type(Format::Xml);
    r.assert_header_not_empty("Last-Modified"); // warningOnly in the script
}

// --- TestScript-testscript-example-history.json ----------------------------------------

async fn testscript_example_history(s: TestServer) {
    let create = patient_example();
    let id = create["id"].as_str().expect("fixture id");
    // Organization/1 and Patient/pat2, referenced by the fixtures (see
    // `precondition_references_exist`).
    precondition_references_exist(&s, &[&create, &patient_pat1()]).await;

    // Setup: delete if present, create, update (a minimum history of two versions).
    delete(&s, &format!("Patient/{id}"), Some(Format::Json))
        .await
        .assert_status_in(&[200, 204]);
    update(&s, id, Format::Json, &create)
        .await
        .assert_status_in(&[201]);
    update(&s, id, Format::Json, &patient_pat1())
        .await
        .assert_status_in(&[200]);

    // Test 01-HistoryPatient.
    let r = read(&s, &format!("Patient/{id}/_history"), Some(Format::Json)).await;
    r.assert_status_in(&[200]);
    r.assert_resource("Bundle");
    r.assert_conforms_to_base("Bundle");
    let bundle = r.json();
    assert_eq!(bundle["type"], "history");
    let versions = bundle["entry"].as_array().map_or(0, Vec::len);
    assert!(versions >= 2, "the setup made two versions: {bundle}");
}

// --- TestScript-testscript-example-multisystem.json ------------------------------------

/// One read of the multisystem script on one destination.
async fn multisystem_read(destination: &TestServer, headers: &[(&str, &str)]) {
    // Variables Dest1/Dest2PatientResourceId default to `example`, expected to exist, with
    // Organization/1 that it references (see `precondition_references_exist`).
    precondition_references_exist(destination, &[&patient_example()]).await;
    precondition_exists(destination, &patient_example()).await;
    let r = operation(
        destination,
        Method::GET,
        "Patient/example",
        Some(Format::Xml),
        None,
        headers,
    )
    .await;
    assert_eq!(r.method, Method::GET, "requestMethod");
    let accept = r
        .request_headers
        .iter()
        .find_map(|(k, v)| (k == "Accept").then_some(v.as_str()));
    assert!(accept.is_some_and(|a| a.contains("xml")), "request Accept");
    r.assert_status_in(&[200]);
    r.assert_content_type(Format::Xml);
    r.assert_resource("Patient");
}

async fn testscript_example_multisystem(s: TestServer) {
    let second = helsebro_blackbox::start(s.backend).await;
    // Test 01-ReadPatient-Destination1: the operation also names contentType xml.
    multisystem_read(&s, &[("Content-Type", Format::Xml.mime())]).await;
    // Test 02-ReadPatient-Destination2, with its requestHeader.
    multisystem_read(&second, &[("Accept-Charset", "utf-8")]).await;
}

// --- the XML helpers themselves --------------------------------------------------------

async fn fixture_sent_as_xml_reads_back_unchanged(s: TestServer) {
    // The XML operations above send the fixtures as XML written by `to_xml`; this checks
    // that what the server stores from that XML is the fixture itself, narrative included.
    let fixture = patient_example();
    // Organization/1, referenced by the fixture (see `precondition_references_exist`).
    precondition_references_exist(&s, &[&fixture]).await;
    let root = parse_xml(&to_xml(&fixture));
    assert_eq!(root.values(&["name", "family"]), ["Chalmers", "Windsor"]);
    update(&s, "example", Format::Xml, &fixture)
        .await
        .assert_status_in(&[201]);
    let read_back = without(
        &read(&s, "Patient/example", Some(Format::Json)).await.json(),
        &["meta"],
    );
    assert!(
        read_back == fixture,
        "stored from XML differs at {:?}",
        differences(&fixture, &read_back)
    );
}

on_both_backends!(
    testscript_example,
    testscript_example_readtest_r001_known_patient,
    testscript_example_readtest_r002_unknown_numeric_id,
    testscript_example_readtest_r003_unknown_id,
    testscript_example_readtest_r004_id_with_capitals,
    testscript_example_search,
    testscript_example_update,
    testscript_example_history,
    testscript_example_multisystem,
    fixture_sent_as_xml_reads_back_unchanged,
);
