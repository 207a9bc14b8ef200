//! Structural validation of R4 JSON resources against the core definitions.
//!
//! This is the cheap, always-on layer that runs on every write: it knows every element of every
//! R4 type (names, cardinality, types, choice types, content references) and the lexical rules
//! of the primitive types, but not invariants in general, terminology bindings or profiles.
//! The handful of invariants that are really about structure (ele-1, ext-1, dom-2, the narrative
//! `div` shape) are checked here too.

mod lexical;
mod model;

use std::sync::LazyLock;

use serde_json::{Map, Value};

use model::{Element, Extra, JsonKind, Model, Primitive, Special, TypeRef, UNBOUNDED};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueKind {
    /// Unknown element, wrong JSON kind, array where a single value belongs and the like.
    Structure,
    /// A minimum cardinality is not met.
    Required,
    /// A primitive value does not match its type's format.
    Value,
    /// Anything else (invariants, unknown or abstract resource types).
    Invalid,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StructureIssue {
    pub severity: Severity,
    pub kind: IssueKind,
    /// FHIRPath-style location, e.g. `Patient.name[0].given[1]`.
    pub expression: String,
    pub message: String,
}

static MODEL: LazyLock<Model> =
    LazyLock::new(|| model::load(include_str!("../data/r4-types.json")));

/// Checks a resource (already parsed JSON) against the R4 core definitions.
///
/// Reports unknown resource types and elements, wrong JSON kinds (arrays exactly where the
/// maximum cardinality exceeds 1), primitive formats, `_element` siblings, choice types, empty
/// objects, arrays and strings, nested resources (contained, Bundle entries, Parameters), and
/// minimum cardinalities. Issues come in document order.
pub fn check_resource(resource: &Value) -> Vec<StructureIssue> {
    let mut checker = Checker {
        m: &MODEL,
        out: Vec::new(),
        path: String::with_capacity(128),
        in_contained: false,
    };
    let root_name = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .filter(|name| MODEL.resources.contains_key(*name))
        .unwrap_or("Resource");
    checker.path.push_str(root_name);
    match resource {
        Value::Object(obj) => checker.resource_object(obj),
        other => checker.error(
            IssueKind::Structure,
            format!(
                "a resource must be a JSON object, found {}",
                describe(other)
            ),
        ),
    }
    checker.out
}

/// True when `name` is a concrete R4 resource type (`Patient`, `Bundle`, ...); the abstract
/// `Resource` and `DomainResource` are not.
pub fn is_resource_type(name: &str) -> bool {
    MODEL.resources.get(name).is_some_and(|r| !r.is_abstract)
}

struct Checker<'m> {
    m: &'m Model,
    out: Vec<StructureIssue>,
    /// The expression of the value being checked; segments are pushed and truncated.
    path: String,
    /// dom-2: a contained resource must not contain resources itself.
    in_contained: bool,
}

/// "a string", "an array", ... for messages about what was found instead.
fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn max_text(max: u32) -> String {
    if max == UNBOUNDED {
        "*".to_string()
    } else {
        max.to_string()
    }
}

/// Quotes a value for a message, shortened so a bad attachment does not flood the outcome.
fn quote(s: &str) -> String {
    const LIMIT: usize = 80;
    match s.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("'{}...'", &s[..cut]),
        None => format!("'{s}'"),
    }
}

impl<'m> Checker<'m> {
    fn push_issue(&mut self, severity: Severity, kind: IssueKind, message: String) {
        self.out.push(StructureIssue {
            severity,
            kind,
            expression: self.path.clone(),
            message,
        });
    }

    fn error(&mut self, kind: IssueKind, message: String) {
        self.push_issue(Severity::Error, kind, message);
    }

    fn push_index(&mut self, i: usize) {
        use std::fmt::Write;
        let _ = write!(self.path, "[{i}]");
    }

    /// The object at `self.path` claims to be a resource.
    fn resource_object(&mut self, obj: &Map<String, Value>) {
        let m = self.m;
        let name = match obj.get("resourceType") {
            None => {
                return self.error(
                    IssueKind::Required,
                    "required element 'resourceType' is missing".to_string(),
                )
            }
            Some(Value::String(name)) => name,
            Some(other) => {
                return self.error(
                    IssueKind::Structure,
                    format!("'resourceType' must be a string, found {}", describe(other)),
                )
            }
        };
        match m.resources.get(name.as_str()) {
            None => self.error(
                IssueKind::Invalid,
                format!("unknown resource type {}", quote(name)),
            ),
            Some(r) if r.is_abstract => self.error(
                IssueKind::Invalid,
                format!("'{name}' is an abstract type; a resource must have a concrete type"),
            ),
            Some(r) => self.object(r.node, obj),
        }
    }

    fn object(&mut self, node_id: u32, obj: &Map<String, Value>) {
        let m = self.m;
        let node = &m.nodes[node_id as usize];
        // Issues about the object as a whole (missing elements, invariants) belong before the
        // issues of its children, which are only known after walking them.
        let first_issue = self.out.len();
        if obj.is_empty() {
            return self.error(
                IssueKind::Structure,
                "empty objects are not allowed: an element must have a value or children"
                    .to_string(),
            );
        }
        let mut present: u128 = 0;
        // (element index, property name) of the choice elements seen so far.
        let mut choices: Vec<(u8, &str)> = Vec::new();
        for (key, value) in obj {
            if node.special == Special::Resource && key == "resourceType" {
                continue;
            }
            let (underscore, name) = match key.strip_prefix('_') {
                Some(name) => (true, name),
                None => (false, key.as_str()),
            };
            // `_name` exists only for primitives, and not for xhtml, which has no extensions.
            let known = node.props.get(name).copied().filter(|&(ei, ti)| {
                !underscore
                    || matches!(
                        node.elements[ei as usize].types[ti as usize],
                        TypeRef::Primitive(p) if m.prims[p as usize].extra != Extra::Xhtml
                    )
            });
            let Some((ei, ti)) = known else {
                let len = self.path.len();
                self.path.push('.');
                self.path.push_str(key);
                self.error(
                    IssueKind::Structure,
                    format!("unknown element '{key}' in {}", node.label),
                );
                self.path.truncate(len);
                continue;
            };
            let elem = &node.elements[ei as usize];
            let len = self.path.len();
            self.path.push('.');
            self.path.push_str(name);
            if elem.choice {
                match choices.iter().find(|(e, _)| *e == ei) {
                    Some(&(_, first)) if first != name => {
                        self.error(
                            IssueKind::Structure,
                            format!(
                                "'{}' allows only one type, but both '{first}' and '{name}' are present",
                                elem.name
                            ),
                        );
                        self.path.truncate(len);
                        continue;
                    }
                    Some(_) => {}
                    None => choices.push((ei, name)),
                }
            }
            present |= 1u128 << ei;
            let type_name = &elem.type_names[ti as usize];
            match elem.types[ti as usize] {
                TypeRef::Primitive(p) if underscore => {
                    self.primitive_extension(elem, name, value, obj.get(name), &m.prims[p as usize])
                }
                TypeRef::Primitive(p) => {
                    self.primitive_property(elem, name, value, obj, &m.prims[p as usize])
                }
                TypeRef::Complex(n) => self.complex_property(elem, name, type_name, value, n),
                TypeRef::Resource => {
                    let contained = node.special == Special::Resource && name == "contained";
                    self.resource_property(elem, name, value, contained)
                }
            }
            self.path.truncate(len);
        }
        self.object_rules(node, obj, present, first_issue);
    }

    /// Cardinality minimums and the structural invariants, inserted at `first_issue`.
    fn object_rules(
        &mut self,
        node: &model::Node,
        obj: &Map<String, Value>,
        present: u128,
        first_issue: usize,
    ) {
        let mut issues = Vec::new();
        let mut add = |kind, message| {
            issues.push(StructureIssue {
                severity: Severity::Error,
                kind,
                expression: self.path.clone(),
                message,
            })
        };
        for &ei in &node.required {
            if present & (1u128 << ei) == 0 {
                let e = &node.elements[ei as usize];
                add(
                    IssueKind::Required,
                    format!("required element '{}' is missing (min {})", e.name, e.min),
                );
            }
        }
        match node.special {
            Special::Extension { extension, value } => {
                let has_extensions = present & (1u128 << extension) != 0;
                let has_value = present & (1u128 << value) != 0;
                if has_extensions && has_value {
                    add(
                        IssueKind::Invalid,
                        "an extension must have either extensions or a value[x], not both (ext-1)"
                            .to_string(),
                    );
                } else if !has_extensions && !has_value {
                    add(
                        IssueKind::Invalid,
                        "an extension must have either extensions or a value[x] (ext-1)"
                            .to_string(),
                    );
                }
            }
            Special::None if obj.len() == 1 && obj.contains_key("id") => add(
                IssueKind::Invalid,
                "an element must have a value or children besides 'id' (ele-1)".to_string(),
            ),
            _ => {}
        }
        if !issues.is_empty() {
            self.out.splice(first_issue..first_issue, issues);
        }
    }

    /// Validates the array-ness of `value` against `elem.max` and returns the items to check,
    /// and whether they are indexed in the expression.
    fn items<'v>(
        &mut self,
        elem: &Element,
        name: &str,
        value: &'v Value,
    ) -> Option<(&'v [Value], bool)> {
        if elem.max > 1 {
            let Value::Array(items) = value else {
                self.error(
                    IssueKind::Structure,
                    format!(
                        "expected an array for '{name}' (max cardinality {}), found {}",
                        max_text(elem.max),
                        describe(value)
                    ),
                );
                return None;
            };
            if items.is_empty() {
                self.error(
                    IssueKind::Structure,
                    format!("empty arrays are not allowed: omit '{name}' instead"),
                );
                return None;
            }
            self.array_cardinality(elem, name, items.len());
            Some((items.as_slice(), true))
        } else if value.is_array() {
            self.error(
                IssueKind::Structure,
                format!("expected a single value for '{name}' (max cardinality 1), found an array"),
            );
            None
        } else {
            Some((std::slice::from_ref(value), false))
        }
    }

    fn array_cardinality(&mut self, elem: &Element, name: &str, count: usize) {
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        if elem.max != UNBOUNDED && count > elem.max {
            self.error(
                IssueKind::Structure,
                format!(
                    "'{name}' has {count} values, but at most {} are allowed",
                    elem.max
                ),
            );
        }
        if count < elem.min {
            self.error(
                IssueKind::Required,
                format!(
                    "'{name}' has {count} values, but at least {} are required",
                    elem.min
                ),
            );
        }
    }

    fn complex_property(
        &mut self,
        elem: &Element,
        name: &str,
        type_name: &str,
        value: &Value,
        node: u32,
    ) {
        let Some((items, indexed)) = self.items(elem, name, value) else {
            return;
        };
        for (i, item) in items.iter().enumerate() {
            let len = self.path.len();
            if indexed {
                self.push_index(i);
            }
            match item {
                Value::Object(obj) => self.object(node, obj),
                other => self.error(
                    IssueKind::Structure,
                    format!(
                        "expected an object for '{name}' ({type_name}), found {}",
                        describe(other)
                    ),
                ),
            }
            self.path.truncate(len);
        }
    }

    fn resource_property(&mut self, elem: &Element, name: &str, value: &Value, contained: bool) {
        let Some((items, indexed)) = self.items(elem, name, value) else {
            return;
        };
        if contained && self.in_contained {
            self.error(
                IssueKind::Invalid,
                "a contained resource must not contain other resources (dom-2)".to_string(),
            );
        }
        let outer = self.in_contained;
        self.in_contained = contained;
        for (i, item) in items.iter().enumerate() {
            let len = self.path.len();
            if indexed {
                self.push_index(i);
            }
            match item {
                Value::Object(obj) => self.resource_object(obj),
                other => self.error(
                    IssueKind::Structure,
                    format!(
                        "expected a resource (JSON object) for '{name}', found {}",
                        describe(other)
                    ),
                ),
            }
            self.path.truncate(len);
        }
        self.in_contained = outer;
    }

    fn primitive_property(
        &mut self,
        elem: &Element,
        name: &str,
        value: &Value,
        obj: &Map<String, Value>,
        prim: &Primitive,
    ) {
        let Some((items, indexed)) = self.items(elem, name, value) else {
            return;
        };
        // The `_name` sibling is only needed to justify nulls, which are rare: look it up lazily.
        let mut sibling: Option<Option<&Vec<Value>>> = None;
        for (i, item) in items.iter().enumerate() {
            let len = self.path.len();
            if indexed {
                self.push_index(i);
            }
            if item.is_null() {
                let extensions = *sibling
                    .get_or_insert_with(|| obj.get(&format!("_{name}")).and_then(Value::as_array));
                let justified = indexed
                    && extensions
                        .and_then(|a| a.get(i))
                        .is_some_and(Value::is_object);
                if !justified {
                    self.error(
                        IssueKind::Structure,
                        if indexed {
                            format!("null in '{name}' is only allowed where '_{name}' has an extension at the same position")
                        } else {
                            format!("null is not allowed for '{name}'")
                        },
                    );
                }
            } else {
                self.primitive_value(name, item, prim);
            }
            self.path.truncate(len);
        }
    }

    /// `_name`: the id and extensions of a primitive, aligned with `name` when repeating.
    fn primitive_extension(
        &mut self,
        elem: &Element,
        name: &str,
        value: &Value,
        sibling: Option<&Value>,
        prim: &Primitive,
    ) {
        let element_node = self.m.element_node;
        let key = format!("_{name}");
        let Some((items, indexed)) = self.items(elem, &key, value) else {
            return;
        };
        let values = sibling.and_then(Value::as_array);
        if let Some(values) = values.filter(|_| indexed) {
            if values.len() != items.len() {
                self.error(
                    IssueKind::Structure,
                    format!(
                        "'{key}' must have as many entries as '{name}' ({} vs {})",
                        items.len(),
                        values.len()
                    ),
                );
            }
        }
        for (i, item) in items.iter().enumerate() {
            let len = self.path.len();
            if indexed {
                self.push_index(i);
            }
            match item {
                Value::Object(o) => {
                    self.object(element_node, o);
                    let has_value = if indexed {
                        values.and_then(|v| v.get(i)).is_some_and(|v| !v.is_null())
                    } else {
                        sibling.is_some_and(|v| !v.is_null())
                    };
                    if !has_value && o.len() == 1 && o.contains_key("id") {
                        self.error(
                            IssueKind::Invalid,
                            format!("'{name}' has neither a value nor extensions (ele-1)"),
                        );
                    }
                }
                // Both null at the same position is reported once, on the value side.
                Value::Null if indexed && values.and_then(|v| v.get(i)).is_some() => {}
                Value::Null if indexed => self.error(
                    IssueKind::Structure,
                    format!("null in '{key}' is only allowed where '{name}' has a value at the same position"),
                ),
                other => self.error(
                    IssueKind::Structure,
                    format!(
                        "expected an object with the id and extensions of '{name}' ({}), found {}",
                        prim.name,
                        describe(other)
                    ),
                ),
            }
            self.path.truncate(len);
        }
    }

    fn primitive_value(&mut self, name: &str, value: &Value, prim: &Primitive) {
        match (prim.json, value) {
            (JsonKind::Boolean, Value::Bool(_)) => {}
            (JsonKind::Number, Value::Number(n)) => {
                if let Extra::Integer { min } = prim.extra {
                    let whole = n.as_i64().map(i128::from).or(n.as_u64().map(i128::from));
                    match whole {
                        Some(i) if i >= min.into() && i <= i32::MAX.into() => {}
                        Some(i) => self.error(
                            IssueKind::Value,
                            format!(
                                "{i} is not a valid {} (allowed range {min} to {})",
                                prim.name,
                                i32::MAX
                            ),
                        ),
                        None => self.error(
                            IssueKind::Value,
                            format!("{n} is not a valid {} (must be a whole number)", prim.name),
                        ),
                    }
                }
            }
            (JsonKind::String, Value::String(s)) => self.string_value(name, s, prim),
            (json, other) => {
                // "(boolean)" after "a boolean" would only repeat itself.
                let type_note = if json.describe().ends_with(&*prim.name) {
                    String::new()
                } else {
                    format!(" ({})", prim.name)
                };
                self.error(
                    IssueKind::Structure,
                    format!(
                        "expected {} for '{name}'{type_note}, found {}",
                        json.describe(),
                        describe(other)
                    ),
                )
            }
        }
    }

    fn string_value(&mut self, name: &str, s: &str, prim: &Primitive) {
        if s.is_empty() {
            return self.error(
                IssueKind::Value,
                format!("empty strings are not allowed: omit '{name}' instead"),
            );
        }
        if !prim.pattern.matches(s) {
            return self.error(
                IssueKind::Value,
                format!("{} is not a valid {}", quote(s), prim.name),
            );
        }
        match prim.extra {
            Extra::Calendar if !lexical::day_exists(s) => self.error(
                IssueKind::Value,
                format!("{} is not a valid {} (no such day)", quote(s), prim.name),
            ),
            Extra::Text => {
                if let Some(max) = prim.max_len {
                    // Bytes bound characters from above, so count only when it could matter.
                    if s.len() > max && s.chars().count() > max {
                        self.error(
                            IssueKind::Value,
                            format!("'{name}' is longer than {max} characters"),
                        );
                    }
                }
                if s.bytes()
                    .any(|c| c < 0x20 && !matches!(c, b'\t' | b'\r' | b'\n'))
                {
                    self.push_issue(
                        Severity::Warning,
                        IssueKind::Value,
                        format!("'{name}' contains control characters, which strings should not contain"),
                    );
                }
            }
            Extra::Xhtml => {
                if let Some(problem) = lexical::div_problem(s) {
                    self.error(IssueKind::Value, problem.to_string());
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
