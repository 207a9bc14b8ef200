//! Walks an instance along a profile's element tree: cardinality, fixed and pattern values,
//! choice types, slicing by value/pattern discriminators, and required bindings to the
//! ValueSets we carry.

use serde_json::{Map, Value};

use super::core;
use super::extensions;
use super::invariants::{self, Constraint, Outcome};
use super::model::{Node, PROFILES, UNBOUNDED};
use super::terminology::{self, BindingCheck, VALUE_SET_CODES};
use super::{Issue, Severity};

pub(super) struct Walker<'p> {
    /// The short name of the profile being checked, for messages.
    pub profile: &'p str,
    /// `%resource` for the profile's own invariants.
    resource: &'p Value,
    pub out: Vec<Issue>,
}

/// The values of one element in its parent object.
struct Found<'v> {
    /// The JSON name (for choice types, e.g. `valueQuantity`).
    key: String,
    /// `Some(values)` with indexes when the JSON holds an array.
    items: Vec<&'v Value>,
    is_array: bool,
    /// How many occurrences there are, counting primitives that only have `_name`.
    count: usize,
}

fn find<'v>(def: &Node, obj: &'v Map<String, Value>) -> Found<'v> {
    let key = match def.name.strip_suffix("[x]") {
        Some(base) => obj
            .keys()
            .find(|k| {
                let k = k.strip_prefix('_').unwrap_or(k);
                k.strip_prefix(base)
                    .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
            })
            .map(|k| k.strip_prefix('_').unwrap_or(k).to_string())
            .unwrap_or_else(|| def.name.clone()),
        None => def.name.clone(),
    };
    let (items, is_array) = match obj.get(&key) {
        None => (Vec::new(), false),
        Some(Value::Array(a)) => (a.iter().collect(), true),
        Some(v) => (vec![v], false),
    };
    let shadow = match obj.get(&format!("_{key}")) {
        None => 0,
        Some(Value::Array(a)) => a.len(),
        Some(_) => 1,
    };
    let count = items.len().max(shadow);
    Found {
        key,
        items,
        is_array,
        count,
    }
}

fn max_text(max: u32) -> String {
    if max == UNBOUNDED {
        "*".to_string()
    } else {
        max.to_string()
    }
}

/// Compact JSON for a message, shortened.
fn show(v: &Value) -> String {
    const LIMIT: usize = 100;
    let s = v.to_string();
    match s.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s,
    }
}

/// JSON equality with numbers compared by value.
pub(super) fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, xv)| y.get(k).is_some_and(|yv| equal(xv, yv)))
        }
        _ => a == b,
    }
}

/// Whether `instance` contains `pattern`: objects recursively, arrays when every pattern item
/// is matched by some instance item, primitives by equality.
pub(super) fn contains(instance: &Value, pattern: &Value) -> bool {
    match (instance, pattern) {
        (Value::Object(i), Value::Object(p)) => p
            .iter()
            .all(|(k, pv)| i.get(k).is_some_and(|iv| contains(iv, pv))),
        (Value::Array(i), Value::Array(p)) => {
            p.iter().all(|pv| i.iter().any(|iv| contains(iv, pv)))
        }
        _ => equal(instance, pattern),
    }
}

/// The values at a dotted path below `v`, through arrays.
fn values_at<'v>(v: &'v Value, path: &str) -> Vec<&'v Value> {
    let mut current = vec![v];
    for seg in path.split('.') {
        let mut next = Vec::new();
        for c in current {
            match c.get(seg) {
                Some(Value::Array(a)) => next.extend(a.iter()),
                Some(x) => next.push(x),
                None => {}
            }
        }
        current = next;
    }
    current
}

/// What decides whether an item belongs to a slice.
enum Matcher {
    /// The item has one of these values (contained) at the path.
    At(String, Vec<Value>),
    /// The item contains this value itself (a pattern on the slice element).
    Whole(Value),
    /// The value at the path conforms to one of these profiles (a `profile` discriminator).
    Conforms(String, Vec<String>),
}

/// The matchers of a slice for a value/pattern slicing, or `None` when we cannot tell.
fn slice_matchers(
    slice: &Node,
    discriminators: &[super::model::Discriminator],
) -> Option<Vec<Matcher>> {
    let mut out = Vec::new();
    for d in discriminators {
        if d.kind == "profile" {
            let node = node_at(slice, &d.path)?;
            if node.type_profiles.is_empty() {
                return None;
            }
            out.push(Matcher::Conforms(
                d.path.clone(),
                node.type_profiles.clone(),
            ));
            continue;
        }
        if d.kind != "value" && d.kind != "pattern" {
            return None;
        }
        if d.path == "$this" {
            out.push(Matcher::Whole(
                slice.fixed.clone().or(slice.pattern.clone())?,
            ));
            continue;
        }
        // The nodes at the path; a sliced element on the way contributes its required
        // slices too (e.g. component:SystolicBP.code.coding:SBPCode.code).
        let mut nodes = vec![slice];
        for seg in d.path.split('.') {
            let mut next = Vec::new();
            for n in nodes {
                if let Some(c) = n.child(seg) {
                    next.push(c);
                    next.extend(c.slices.iter().filter(|s| s.min > 0));
                }
            }
            nodes = next;
        }
        let expected: Vec<Value> = nodes
            .iter()
            .filter_map(|n| n.fixed.clone().or(n.pattern.clone()))
            .collect();
        if !expected.is_empty() {
            out.push(Matcher::At(d.path.clone(), expected));
        } else if d.path == "url" && !slice.type_profiles.is_empty() {
            out.push(Matcher::At(
                d.path.clone(),
                vec![Value::from(slice.type_profiles[0].clone())],
            ));
        } else {
            out.push(Matcher::Whole(
                slice.fixed.clone().or(slice.pattern.clone())?,
            ));
        }
    }
    Some(out)
}

/// The node at a dotted path below `node` (`$this` is the node itself).
fn node_at<'n>(node: &'n Node, path: &str) -> Option<&'n Node> {
    if path == "$this" {
        return Some(node);
    }
    path.split('.').try_fold(node, |n, seg| n.child(seg))
}

/// Whether `value` conforms to a carried profile: walking it finds no error. A profile we do
/// not carry cannot be judged, so nothing conforms to it.
fn conforms(value: &Value, url: &str) -> bool {
    let Value::Object(obj) = value else {
        return false;
    };
    let (name, root) = match (PROFILES.get(url), extensions::EXTENSIONS.get(url)) {
        (Some(p), _) => (&p.name, &p.root),
        (None, Some(e)) => (&e.profile.name, &e.profile.root),
        (None, None) => return false,
    };
    let mut walker = Walker::new(name, value);
    walker.object(root, obj, "");
    walker.out.iter().all(|i| i.severity != Severity::Error)
}

fn matches(item: &Value, matchers: &[Matcher]) -> bool {
    matchers.iter().all(|m| match m {
        Matcher::Conforms(path, urls) => {
            let values = if path == "$this" {
                vec![item]
            } else {
                values_at(item, path)
            };
            values
                .iter()
                .any(|v| urls.iter().any(|url| conforms(v, url)))
        }
        Matcher::At(path, expected) => values_at(item, path)
            .iter()
            .any(|v| expected.iter().any(|e| contains(v, e))),
        Matcher::Whole(expected) => contains(item, expected),
    })
}

impl<'p> Walker<'p> {
    pub(super) fn new(profile: &'p str, resource: &'p Value) -> Self {
        Walker {
            profile,
            resource,
            out: Vec::new(),
        }
    }

    /// The invariants the profile adds to the core ones (the core walk evaluates those), at one
    /// occurrence of the element.
    pub(super) fn invariants(&mut self, def: &Node, item: &Value, path: &str) {
        let own: Vec<&Constraint> = def
            .constraints
            .iter()
            .filter(|c| !core::is_core_key(&c.key))
            .map(|c| &**c)
            .collect();
        if own.is_empty() {
            return;
        }
        for (c, outcome) in invariants::evaluate(&own, item, self.resource, self.resource) {
            if outcome == Outcome::Fails {
                self.out.push(invariants::issue(c, path));
            }
        }
    }

    fn issue(
        &mut self,
        severity: Severity,
        code: &'static str,
        expression: String,
        message: String,
    ) {
        self.out.push(Issue {
            severity,
            code,
            expression,
            message,
        });
    }

    /// Checks the children of `node` against the object at `path`.
    pub(super) fn object(&mut self, node: &Node, obj: &Map<String, Value>, path: &str) {
        for def in &node.children {
            self.element(def, obj, path);
        }
    }

    fn element(&mut self, def: &Node, obj: &Map<String, Value>, parent: &str) {
        let found = find(def, obj);
        let expr = format!("{parent}.{}", found.key);
        let profile = self.profile;
        let count = found.count;
        if (count as u64) < u64::from(def.min) {
            let message = if count == 0 {
                format!("{expr} is required by {profile} (min {})", def.min)
            } else {
                format!(
                    "{expr}: {profile} requires at least {}, found {count}",
                    def.min
                )
            };
            self.issue(Severity::Error, "required", expr.clone(), message);
        }
        if def.max != UNBOUNDED && count as u64 > u64::from(def.max) {
            let message = if def.max == 0 {
                format!("{expr} is not allowed by {profile} (max 0)")
            } else {
                format!(
                    "{expr}: {profile} allows at most {}, found {count}",
                    def.max
                )
            };
            self.issue(Severity::Error, "structure", expr.clone(), message);
        }
        if count == 0 {
            // Absent slices may still have a minimum.
            self.slices(def, &found, &expr);
            return;
        }
        if let Some(base) = def.name.strip_suffix("[x]") {
            let suffix = &found.key[base.len()..];
            let allowed = def.types.iter().any(|t| {
                let mut c = t.chars();
                c.next()
                    .is_some_and(|f| f.to_ascii_uppercase().to_string() + c.as_str() == suffix)
            });
            if !def.types.is_empty() && !allowed {
                self.issue(
                    Severity::Error,
                    "structure",
                    expr.clone(),
                    format!(
                        "{expr}: type {suffix} is not allowed by {profile}; allowed: {}",
                        def.types.join(", ")
                    ),
                );
            }
        }
        for (i, item) in found.items.iter().enumerate() {
            let item_path = if found.is_array {
                format!("{expr}[{i}]")
            } else {
                expr.clone()
            };
            self.item(def, item, &item_path);
        }
        self.slices(def, &found, &expr);
    }

    /// The checks on one occurrence of an element (or of a slice).
    fn item(&mut self, def: &Node, item: &Value, path: &str) {
        let profile = self.profile;
        self.invariants(def, item, path);
        if let Some(fixed) = &def.fixed {
            if !equal(item, fixed) {
                self.issue(
                    Severity::Error,
                    "value",
                    path.to_string(),
                    format!(
                        "{path} must be exactly {} (fixed by {profile}), found {}",
                        show(fixed),
                        show(item)
                    ),
                );
            }
        }
        if let Some(pattern) = &def.pattern {
            if !contains(item, pattern) {
                self.issue(
                    Severity::Error,
                    "value",
                    path.to_string(),
                    format!(
                        "{path} must match the pattern {} required by {profile}, found {}",
                        show(pattern),
                        show(item)
                    ),
                );
            }
        }
        if let Some(vs) = &def.required_binding {
            if let Some(codes) = VALUE_SET_CODES.get(vs) {
                if let BindingCheck::Outside(found) = terminology::check(item, codes) {
                    self.issue(
                        Severity::Error,
                        "code-invalid",
                        path.to_string(),
                        format!(
                            "{path}: {} is not in the ValueSet {vs} (required binding in {profile})",
                            found.join(", ")
                        ),
                    );
                }
            }
        }
        let Value::Object(obj) = item else { return };
        self.object(def, obj, path);
        for tp in &def.type_profiles {
            let Some(p) = PROFILES.get(tp) else { continue };
            if crate::structure::is_resource_type(&p.type_name) || p.type_name == "Extension" {
                continue;
            }
            let outer = self.profile;
            self.profile = &p.name;
            self.object(&p.root, obj, path);
            self.profile = outer;
        }
    }

    /// Assigns the occurrences of a sliced element to its slices and checks each slice.
    fn slices(&mut self, def: &Node, found: &Found<'_>, expr: &str) {
        if def.slices.is_empty() {
            return;
        }
        let Some(slicing) = &def.slicing else {
            return;
        };
        let profile = self.profile;
        let closed = slicing.rules == "closed";
        let is_extension_slot = def.name == "extension" || def.name == "modifierExtension";
        let item_path = |i: usize| {
            if found.is_array {
                format!("{expr}[{i}]")
            } else {
                expr.to_string()
            }
        };
        // Each slice's occurrences, as indexes into found.items.
        let mut assigned: Vec<Vec<usize>> = vec![Vec::new(); def.slices.len()];
        let by_type = def.name.ends_with("[x]")
            && slicing
                .discriminators
                .iter()
                .all(|d| d.kind == "type" && d.path == "$this");
        if by_type {
            // Choice-type slices are named after the JSON name, e.g. valueQuantity.
            for (s, slice) in def.slices.iter().enumerate() {
                if slice.slice_name.as_deref() == Some(found.key.as_str()) {
                    assigned[s] = (0..found.items.len()).collect();
                }
            }
            if closed && found.count > 0 && assigned.iter().all(Vec::is_empty) {
                self.issue(
                    Severity::Error,
                    "structure",
                    expr.to_string(),
                    format!(
                        "{expr}: {} matches no slice and the slicing is closed in {profile}",
                        found.key
                    ),
                );
            }
        } else {
            let Some(matchers) = def
                .slices
                .iter()
                .map(|s| slice_matchers(s, &slicing.discriminators))
                .collect::<Option<Vec<_>>>()
            else {
                // Discriminators we cannot evaluate (type, profile, exists): not checked.
                return;
            };
            for (i, item) in found.items.iter().enumerate() {
                match matchers.iter().position(|m| matches(item, m)) {
                    Some(s) => assigned[s].push(i),
                    None if closed && is_extension_slot => {
                        let url = item.get("url").and_then(Value::as_str).unwrap_or("");
                        let (severity, what) = if extensions::is_known(url) {
                            (Severity::Error, "the extension")
                        } else {
                            (Severity::Warning, "the unknown extension")
                        };
                        self.issue(
                            severity,
                            "extension",
                            item_path(i),
                            format!(
                                "{}: {what} {url} is not allowed here: the extension slicing of {expr} is closed in {profile}",
                                item_path(i)
                            ),
                        );
                    }
                    None if closed => {
                        let names: Vec<&str> = def
                            .slices
                            .iter()
                            .filter_map(|s| s.slice_name.as_deref())
                            .collect();
                        self.issue(
                            Severity::Error,
                            "structure",
                            item_path(i),
                            format!(
                                "{}: matches none of the slices {} of {expr}, and the slicing is closed in {profile}",
                                item_path(i),
                                names.join(", ")
                            ),
                        );
                    }
                    None => {}
                }
            }
        }
        for (slice, items) in def.slices.iter().zip(&assigned) {
            let name = slice.slice_name.as_deref().unwrap_or("?");
            let n = items.len();
            if (n as u64) < u64::from(slice.min) {
                self.issue(
                    Severity::Error,
                    "required",
                    expr.to_string(),
                    format!(
                        "{expr}: slice '{name}' requires at least {}, found {n} ({profile})",
                        slice.min
                    ),
                );
            }
            if slice.max != UNBOUNDED && n as u64 > u64::from(slice.max) {
                self.issue(
                    Severity::Error,
                    "structure",
                    expr.to_string(),
                    format!(
                        "{expr}: slice '{name}' allows at most {}, found {n} ({profile})",
                        max_text(slice.max)
                    ),
                );
            }
            for &i in items {
                self.item(slice, found.items[i], &item_path(i));
            }
        }
    }
}
