//! The R4 type model, built once from `data/r4-types.json` (see `tools/gen_r4_types.py`).
//!
//! Every object shape (a complex type, a resource, or a backbone element inside one) becomes a
//! [`Node`] whose property map already contains the inherited elements and the expanded choice
//! names, so checking a property is one hash lookup.

use std::collections::{HashMap, HashSet};

use regex::Regex;
use serde_json::{Map, Value};

use super::lexical;

/// `max` of an element whose cardinality is `*`.
pub(super) const UNBOUNDED: u32 = u32::MAX;

/// The presence bitmask in the checker is a `u128`.
const MAX_ELEMENTS_PER_NODE: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum JsonKind {
    Boolean,
    Number,
    String,
}

impl JsonKind {
    pub(super) fn describe(self) -> &'static str {
        match self {
            JsonKind::Boolean => "a boolean",
            JsonKind::Number => "a number",
            JsonKind::String => "a string",
        }
    }
}

pub(super) type Matcher = fn(&str) -> bool;

/// How the lexical form of a string primitive is checked: the spec regex, or for the regexes
/// R4 actually uses, an equivalent hand-written matcher (see `lexical`).
#[derive(Debug)]
pub(super) enum Pattern {
    None,
    Matcher(Matcher),
    Regex(Regex),
}

impl Pattern {
    pub(super) fn matches(&self, s: &str) -> bool {
        match self {
            Pattern::None => true,
            Pattern::Matcher(f) => f(s),
            Pattern::Regex(re) => re.is_match(s),
        }
    }
}

/// Checks the regex cannot express.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Extra {
    None,
    /// date, dateTime, instant: the day must exist in that month.
    Calendar,
    /// integer, positiveInt, unsignedInt.
    Integer {
        min: i64,
    },
    /// string, markdown: control characters are discouraged.
    Text,
    /// Narrative.div.
    Xhtml,
}

#[derive(Debug)]
pub(super) struct Primitive {
    pub name: Box<str>,
    pub json: JsonKind,
    pub pattern: Pattern,
    pub extra: Extra,
    pub max_len: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TypeRef {
    Primitive(u16),
    Complex(u32),
    /// Any resource, chosen by its `resourceType` (Resource.contained, Bundle.entry.resource, ...).
    Resource,
}

#[derive(Debug, Clone)]
pub(super) struct Element {
    /// As in the definition, `value[x]` for choice elements.
    pub name: Box<str>,
    pub min: u32,
    pub max: u32,
    pub types: Vec<TypeRef>,
    /// Parallel to `types`: `HumanName`, `date`, `Resource`, or a backbone path such as
    /// `Patient.contact`.
    pub type_names: Vec<Box<str>>,
    pub choice: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Special {
    None,
    /// The root of a concrete or abstract resource type: `resourceType` is allowed here.
    Resource,
    /// Extension: ext-1 needs the indices of `extension` and `value[x]`.
    Extension {
        extension: u8,
        value: u8,
    },
    /// Element itself, which only appears as the object of a `_name` primitive extension.
    PrimitiveExtension,
}

#[derive(Debug)]
pub(super) struct Node {
    /// Type name or backbone path, for messages: `HumanName`, `Patient.contact`.
    pub label: Box<str>,
    pub elements: Vec<Element>,
    /// JSON property name (choices expanded, no `_`) → (element index, type index).
    pub props: HashMap<Box<str>, (u8, u8)>,
    /// Indices of elements with min > 0.
    pub required: Vec<u8>,
    pub special: Special,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct ResourceType {
    pub node: u32,
    pub is_abstract: bool,
}

#[derive(Debug)]
pub(super) struct Model {
    pub prims: Vec<Primitive>,
    pub nodes: Vec<Node>,
    pub resources: HashMap<Box<str>, ResourceType>,
    /// The node for `_name` objects (Element: id and extension).
    pub element_node: u32,
}

struct RawType<'a> {
    kind: &'a str,
    is_abstract: bool,
    base: Option<&'a str>,
    elements: Vec<RawElement<'a>>,
    obj: &'a Map<String, Value>,
}

struct RawElement<'a> {
    path: &'a str,
    min: u32,
    max: u32,
    types: RawTypes<'a>,
}

enum RawTypes<'a> {
    Codes(Vec<&'a str>),
    /// `#Questionnaire.item` split into type and relative path.
    ContentReference(&'a str, &'a str),
}

fn parent_of(path: &str) -> &str {
    path.rsplit_once('.').map_or("", |(parent, _)| parent)
}

fn last_segment(path: &str) -> &str {
    path.rsplit_once('.').map_or(path, |(_, last)| last)
}

fn upper_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// The spec regexes are written for Java (XML Schema flavour): anchored, and `\s`/`\S` are
/// ASCII-only, whereas the regex crate's are Unicode-aware.
pub(super) fn compile_spec_regex(re: &str) -> Regex {
    let translated = re
        .replace(r"\s", "[[:space:]]")
        .replace(r"\S", "[[:^space:]]");
    Regex::new(&format!("^(?:{translated})$"))
        .unwrap_or_else(|e| panic!("R4 regex {re:?} does not compile: {e}"))
}

/// Hand-written matchers, keyed by the exact regex they implement, so that a regenerated data
/// file with a changed regex falls back to the regex instead of silently diverging.
pub(super) const MATCHERS: &[(&str, Matcher)] = &[
    (r"[ \r\n\t\S]+", lexical::text),
    (r"\S*", lexical::no_whitespace),
    (r"[^\s]+(\s[^\s]+)*", lexical::token),
    (r"[A-Za-z0-9\-\.]{1,64}", lexical::id),
    (r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+", lexical::oid),
    (
        r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        lexical::uuid,
    ),
    (r"(\s*([0-9a-zA-Z\+/=]){4}\s*)+", lexical::base64),
    (
        r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?",
        lexical::date,
    ),
    (
        r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?",
        lexical::date_time,
    ),
    (
        r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))",
        lexical::instant,
    ),
    (
        r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?",
        lexical::time,
    ),
];

fn pattern_for(regex: Option<&str>) -> Pattern {
    let Some(regex) = regex else {
        return Pattern::None;
    };
    match MATCHERS.iter().find(|(source, _)| *source == regex) {
        Some(&(_, matcher)) => Pattern::Matcher(matcher),
        None => Pattern::Regex(compile_spec_regex(regex)),
    }
}

fn extra_for(name: &str) -> Extra {
    match name {
        "date" | "dateTime" | "instant" => Extra::Calendar,
        "integer" => Extra::Integer {
            min: i32::MIN.into(),
        },
        "unsignedInt" => Extra::Integer { min: 0 },
        "positiveInt" => Extra::Integer { min: 1 },
        "string" | "markdown" => Extra::Text,
        "xhtml" => Extra::Xhtml,
        _ => Extra::None,
    }
}

fn as_u32(v: &Value, what: &str) -> u32 {
    match v {
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or_else(|| panic!("bad {what} {n}")),
        Value::String(s) if s == "*" => UNBOUNDED,
        other => panic!("bad {what} {other}"),
    }
}

fn parse_raw(data: &Value) -> HashMap<&str, RawType<'_>> {
    let types = data
        .get("types")
        .and_then(Value::as_object)
        .expect("r4-types.json: missing 'types'");
    let mut raw = HashMap::with_capacity(types.len());
    for (name, t) in types {
        let obj = t.as_object().expect("type entry must be an object");
        let kind = obj.get("k").and_then(Value::as_str).expect("type kind");
        let mut elements = Vec::new();
        for e in obj.get("e").and_then(Value::as_array).into_iter().flatten() {
            let e = e.as_array().expect("element entry must be an array");
            let path = e[0].as_str().expect("element path");
            let types = match &e[3] {
                Value::String(r) => {
                    let target = r.strip_prefix('#').expect("contentReference starts with #");
                    let (ty, rel) = target.split_once('.').expect("contentReference has a path");
                    RawTypes::ContentReference(ty, rel)
                }
                Value::Array(codes) => RawTypes::Codes(
                    codes
                        .iter()
                        .map(|c| c.as_str().expect("type code"))
                        .collect(),
                ),
                other => panic!("bad element types {other}"),
            };
            elements.push(RawElement {
                path,
                min: as_u32(&e[1], "min"),
                max: as_u32(&e[2], "max"),
                types,
            });
        }
        raw.insert(
            name.as_str(),
            RawType {
                kind,
                is_abstract: obj.contains_key("a"),
                base: obj.get("b").and_then(Value::as_str),
                elements,
                obj,
            },
        );
    }
    raw
}

struct Builder<'a> {
    raw: HashMap<&'a str, RawType<'a>>,
    prim_ids: HashMap<&'a str, u16>,
    node_ids: HashMap<(&'a str, &'a str), u32>,
    /// Finished element lists of root nodes, reused by the types that inherit from them.
    root_elements: HashMap<&'a str, Vec<Element>>,
}

impl<'a> Builder<'a> {
    fn resolve(&self, owner: &str, path: &str, types: &RawTypes<'_>) -> Vec<(TypeRef, Box<str>)> {
        match types {
            RawTypes::ContentReference(ty, rel) => {
                let id = self.node_ids.get(&(*ty, *rel)).unwrap_or_else(|| {
                    panic!("contentReference #{ty}.{rel} does not name a backbone element")
                });
                vec![(TypeRef::Complex(*id), format!("{ty}.{rel}").into())]
            }
            RawTypes::Codes(codes) => codes
                .iter()
                .map(|&code| {
                    if let Some(&p) = self.prim_ids.get(code) {
                        return (TypeRef::Primitive(p), code.into());
                    }
                    if code == "Resource" || code == "DomainResource" {
                        return (TypeRef::Resource, code.into());
                    }
                    if let Some(&id) = self.node_ids.get(&(owner, path)) {
                        return (TypeRef::Complex(id), format!("{owner}.{path}").into());
                    }
                    let id = self
                        .node_ids
                        .get(&(code, ""))
                        .unwrap_or_else(|| panic!("{owner}.{path}: unknown type {code}"));
                    (TypeRef::Complex(*id), code.into())
                })
                .collect(),
        }
    }

    fn own_elements(&self, owner: &'a str, parent: &str) -> Vec<Element> {
        let t = &self.raw[owner];
        t.elements
            .iter()
            .filter(|e| parent_of(e.path) == parent)
            .map(|e| {
                let name = last_segment(e.path);
                let (types, type_names) = self.resolve(owner, e.path, &e.types).into_iter().unzip();
                Element {
                    name: name.into(),
                    min: e.min,
                    max: e.max,
                    types,
                    type_names,
                    choice: name.ends_with("[x]"),
                }
            })
            .collect()
    }

    fn root_elements(&mut self, name: &'a str) -> Vec<Element> {
        if let Some(done) = self.root_elements.get(name) {
            return done.clone();
        }
        let mut elements = match self.raw[name].base {
            Some(base) => self.root_elements(base),
            None => Vec::new(),
        };
        elements.extend(self.own_elements(name, ""));
        self.root_elements.insert(name, elements.clone());
        elements
    }
}

fn make_node(label: String, elements: Vec<Element>, special: Special) -> Node {
    assert!(
        elements.len() <= MAX_ELEMENTS_PER_NODE,
        "{label} has more than {MAX_ELEMENTS_PER_NODE} elements"
    );
    let mut props = HashMap::new();
    let mut required = Vec::new();
    for (ei, e) in elements.iter().enumerate() {
        let ei = u8::try_from(ei).expect("checked above");
        if e.min > 0 {
            required.push(ei);
        }
        if e.choice {
            let stem = e.name.trim_end_matches("[x]");
            for (ti, type_name) in e.type_names.iter().enumerate() {
                let ti = u8::try_from(ti).expect("fewer than 256 choice types");
                let key = format!("{stem}{}", upper_first(type_name));
                props.insert(key.into_boxed_str(), (ei, ti));
            }
        } else {
            props.insert(e.name.clone(), (ei, 0));
        }
    }
    Node {
        label: label.into(),
        elements,
        props,
        required,
        special,
    }
}

pub(super) fn load(json: &str) -> Model {
    let data: Value = serde_json::from_str(json).expect("r4-types.json is valid JSON");
    let raw = parse_raw(&data);

    let mut names: Vec<&str> = raw.keys().copied().collect();
    names.sort_unstable();

    let mut prims = Vec::new();
    let mut prim_ids = HashMap::new();
    for &name in names.iter().filter(|n| raw[*n].kind == "p") {
        let obj = raw[name].obj;
        let json = match obj.get("j").and_then(Value::as_str) {
            Some("b") => JsonKind::Boolean,
            Some("n") => JsonKind::Number,
            _ => JsonKind::String,
        };
        prim_ids.insert(name, u16::try_from(prims.len()).expect("few primitives"));
        prims.push(Primitive {
            name: name.into(),
            json,
            pattern: if json == JsonKind::String {
                pattern_for(obj.get("r").and_then(Value::as_str))
            } else {
                // Numbers and booleans are checked on the JSON value, not on a lexical form.
                Pattern::None
            },
            extra: extra_for(name),
            max_len: obj
                .get("l")
                .and_then(Value::as_u64)
                .and_then(|l| usize::try_from(l).ok()),
        });
    }

    // Allocate ids first: contentReferences and recursive types point at nodes not yet built.
    let mut order: Vec<(&str, &str)> = Vec::new();
    for &name in names.iter().filter(|n| raw[*n].kind != "p") {
        order.push((name, ""));
        let t = &raw[name];
        let parents: HashSet<&str> = t.elements.iter().map(|e| parent_of(e.path)).collect();
        for e in &t.elements {
            if parents.contains(e.path) {
                order.push((name, e.path));
            }
        }
    }
    let node_ids: HashMap<(&str, &str), u32> = order
        .iter()
        .enumerate()
        .map(|(i, &k)| (k, u32::try_from(i).expect("few nodes")))
        .collect();

    let mut builder = Builder {
        raw,
        prim_ids,
        node_ids,
        root_elements: HashMap::new(),
    };
    let mut model = Model {
        prims,
        nodes: Vec::with_capacity(order.len()),
        resources: HashMap::new(),
        element_node: builder.node_ids[&("Element", "")],
    };

    for &(owner, path) in &order {
        let (label, elements) = if path.is_empty() {
            (owner.to_string(), builder.root_elements(owner))
        } else {
            let e = builder.raw[owner]
                .elements
                .iter()
                .find(|e| e.path == path)
                .expect("allocated from this element");
            // Backbone elements inherit from their declared type (BackboneElement or Element).
            let base = match &e.types {
                RawTypes::Codes(codes) if codes.len() == 1 => codes[0],
                _ => panic!("{owner}.{path} has children but is not a single-typed element"),
            };
            let mut elements = builder.root_elements(base);
            elements.extend(builder.own_elements(owner, path));
            (format!("{owner}.{path}"), elements)
        };
        let special = if path.is_empty() && builder.raw[owner].kind == "r" {
            Special::Resource
        } else if path.is_empty() && owner == "Extension" {
            let index = |n: &str| {
                let i = elements.iter().position(|e| &*e.name == n);
                u8::try_from(i.expect("Extension element")).expect("small")
            };
            Special::Extension {
                extension: index("extension"),
                value: index("value[x]"),
            }
        } else if path.is_empty() && owner == "Element" {
            Special::PrimitiveExtension
        } else {
            Special::None
        };
        model.nodes.push(make_node(label, elements, special));
    }

    for &name in &names {
        let t = &builder.raw[name];
        if t.kind == "r" {
            model.resources.insert(
                name.into(),
                ResourceType {
                    node: builder.node_ids[&(name, "")],
                    is_abstract: t.is_abstract,
                },
            );
        }
    }
    model
}
