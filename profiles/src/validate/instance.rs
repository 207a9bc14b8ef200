//! The walk of an instance along the R4 core definitions ([`super::core`]): at every element
//! instance it evaluates the element's invariants (and, for a data type, the type's own:
//! per-1 on every Period), checks required bindings to the core ValueSets we carry, checks
//! extensions against their definitions and contexts, and goes into nested resources
//! (`contained`, `Bundle.entry.resource`, ...) with each one as `%resource`, validating them
//! against the profiles in their `meta.profile` too.

use serde_json::{Map, Value};

use super::core::{CoreType, ElementDef, TypeRef, CORE};
use super::extensions::{self, Host};
use super::invariants::{self, Constraint, Outcome};
use super::narrative;
use super::terminology::{self, BindingCheck, VALUE_SET_CODES};
use super::{Issue, Severity};

pub(super) struct CoreWalk<'a> {
    pub out: Vec<Issue>,
    /// `%rootResource`: the outermost resource.
    root: &'a Value,
}

/// Walks `resource` (the outermost resource, at `path`) and returns what it found.
pub(super) fn walk(resource: &Value, path: &str) -> Vec<Issue> {
    let mut w = CoreWalk {
        out: Vec::new(),
        root: resource,
    };
    w.resource(resource, path);
    w.out
}

/// Where in the definitions an object is being walked.
struct Frame<'t> {
    ty: &'t CoreType,
    /// The element's path in `ty` (`Patient.contact`, `Address`).
    def_path: String,
    /// The element's path from the resource, without indexes (`Patient.address.district`).
    res_path: String,
}

fn items(v: &Value) -> Vec<(Option<usize>, &Value)> {
    match v {
        Value::Array(a) => a.iter().enumerate().map(|(i, x)| (Some(i), x)).collect(),
        other => vec![(None, other)],
    }
}

fn indexed(expr: &str, i: Option<usize>) -> String {
    match i {
        Some(i) => format!("{expr}[{i}]"),
        None => expr.to_string(),
    }
}

/// The type and its ancestors, for extension contexts.
fn lineage(ty: &CoreType) -> Vec<&str> {
    let mut out = vec![ty.name.as_str()];
    let mut base = ty.base.as_deref();
    while let Some(b) = base {
        out.push(b);
        base = CORE.named(b).and_then(|t| t.base.as_deref());
    }
    out
}

impl<'a> CoreWalk<'a> {
    /// A resource at `path` (the outermost one or a nested one).
    fn resource(&mut self, resource: &Value, path: &str) {
        let Some(obj) = resource.as_object() else {
            return;
        };
        let Some(type_name) = obj.get("resourceType").and_then(Value::as_str) else {
            return;
        };
        match CORE.named(type_name) {
            Some(ty) => {
                let constraints: Vec<&Constraint> =
                    ty.root_constraints().iter().map(|c| &**c).collect();
                self.evaluate(&constraints, resource, resource, path);
                for (i, id) in invariants::dom_3(resource) {
                    self.out.push(Issue {
                        severity: Severity::Error,
                        code: "invariant",
                        expression: format!("{path}.contained[{i}]"),
                        message: format!(
                            "{path}.contained[{i}]: dom-3 failed: If the resource is contained \
                             in another resource, it SHALL be referred to from elsewhere in the \
                             resource or SHALL refer to the containing resource (id '{id}' is \
                             not referred to)"
                        ),
                    });
                }
                let frame = Frame {
                    ty,
                    def_path: type_name.to_string(),
                    res_path: type_name.to_string(),
                };
                self.children(&frame, obj, resource, path, None);
            }
            // Resources we carry no definition for (Bundle, Parameters, ...): only their
            // nested resources are walked.
            None => self.nested_only(obj, path),
        }
        if !std::ptr::eq(resource, self.root) {
            super::check_profiles(resource, None, path, &mut self.out);
        }
    }

    /// Finds the resources nested in an object of a type we do not carry.
    fn nested_only(&mut self, obj: &Map<String, Value>, path: &str) {
        for (key, v) in obj {
            for (i, item) in items(v) {
                // Only objects can be or hold resources.
                let Value::Object(o) = item else { continue };
                let expr = indexed(&format!("{path}.{key}"), i);
                if (key == "contained" || key == "resource") && o.contains_key("resourceType") {
                    self.resource(item, &expr);
                } else {
                    self.nested_only(o, &expr);
                }
            }
        }
    }

    /// The properties of an object whose definition is `frame`.
    fn children(
        &mut self,
        frame: &Frame<'_>,
        obj: &Map<String, Value>,
        resource: &Value,
        path: &str,
        extension_url: Option<&str>,
    ) {
        let ty = frame.ty;
        let parent = ty.resolve(&frame.def_path).to_string();
        for (key, v) in obj {
            if key == "resourceType" {
                continue;
            }
            if let Some(name) = key.strip_prefix('_') {
                // The id and extensions of a primitive.
                let Some((def_path, _, t)) = ty.child(&parent, name) else {
                    continue;
                };
                let res_path = format!("{}.{name}", frame.res_path);
                for (i, item) in items(v) {
                    let Some(ext) = item.get("extension") else {
                        continue;
                    };
                    let host = Host {
                        types: &[t.code.as_str(), "Element"],
                        paths: &[&def_path, &res_path],
                        extension_url: None,
                    };
                    let expr = indexed(&format!("{path}.{key}"), i);
                    self.extensions(ext, &host, resource, &format!("{expr}.extension"));
                }
                continue;
            }
            // Unknown elements are reported by the structure check.
            let Some((def_path, def, t)) = ty.child(&parent, key) else {
                continue;
            };
            let name = def_path.rsplit('.').next().unwrap_or(key).to_string();
            let child = Frame {
                ty,
                res_path: format!("{}.{name}", frame.res_path),
                def_path,
            };
            let expr = format!("{path}.{key}");
            if key == "extension" || key == "modifierExtension" {
                let mut types = lineage(ty);
                if frame.def_path != ty.name {
                    types = vec!["BackboneElement", "Element"];
                }
                let host = Host {
                    types: &types,
                    paths: &[&frame.def_path, &frame.res_path],
                    extension_url,
                };
                self.extensions(v, &host, resource, &expr);
            }
            for (i, item) in items(v) {
                self.item(&child, def, t, item, resource, &indexed(&expr, i));
            }
        }
    }

    fn extensions(&mut self, v: &Value, host: &Host<'_>, resource: &Value, expr: &str) {
        for (i, ext) in items(v) {
            extensions::check(ext, host, resource, &indexed(expr, i), &mut self.out);
        }
    }

    /// One occurrence of an element.
    fn item(
        &mut self,
        frame: &Frame<'_>,
        def: &ElementDef,
        t: &TypeRef,
        item: &Value,
        resource: &Value,
        expr: &str,
    ) {
        if let Some(vs) = &def.required_binding {
            self.binding(vs, item, expr);
        }
        let mut constraints: Vec<&Constraint> = def.constraints.iter().map(|c| &**c).collect();
        // An element defined by reference (`Observation.component.referenceRange`) has the
        // constraints of the element it refers to (obs-3).
        let referenced = def
            .content_reference
            .as_ref()
            .and_then(|r| frame.ty.elements.get(r));
        for c in referenced.into_iter().flat_map(|r| &r.constraints) {
            if !constraints.iter().any(|d| d.key == c.key) {
                constraints.push(c);
            }
        }
        match t.code.as_str() {
            "Resource" => {
                self.evaluate(&constraints, item, resource, expr);
                self.resource(item, expr);
            }
            // Backbone elements (and contentReference ones) are defined inline.
            "" | "BackboneElement" | "Element" => {
                self.evaluate(&constraints, item, resource, expr);
                if let Value::Object(obj) = item {
                    self.children(frame, obj, resource, expr, None);
                }
            }
            "xhtml" => {
                for (key, problem) in narrative::problems(item.as_str().unwrap_or_default()) {
                    let human = match key {
                        "txt-1" => "The narrative SHALL contain only the basic html formatting elements and attributes",
                        _ => "The narrative SHALL have some non-whitespace content",
                    };
                    self.out.push(Issue {
                        severity: Severity::Error,
                        code: "invariant",
                        expression: expr.to_string(),
                        message: format!("{expr}: {key} failed: {human} ({problem})"),
                    });
                }
            }
            _ => match CORE.for_type(t) {
                // A complex data type: its own invariants apply at every use.
                Some(dt) => {
                    for c in dt.root_constraints() {
                        if !constraints.iter().any(|d| d.key == c.key) {
                            constraints.push(c);
                        }
                    }
                    self.evaluate(&constraints, item, resource, expr);
                    if dt.name == "Reference" {
                        self.ref_1(item, expr);
                    }
                    let Value::Object(obj) = item else { return };
                    let inner = Frame {
                        ty: dt,
                        def_path: dt.name.clone(),
                        res_path: frame.res_path.clone(),
                    };
                    let url = (dt.name == "Extension")
                        .then(|| obj.get("url").and_then(Value::as_str))
                        .flatten();
                    self.children(&inner, obj, resource, expr, url);
                }
                // A primitive.
                None => self.evaluate(&constraints, item, resource, expr),
            },
        }
    }

    fn ref_1(&mut self, reference: &Value, expr: &str) {
        if let Some(id) = invariants::ref_1(reference, self.root) {
            self.out.push(Issue {
                severity: Severity::Error,
                code: "invariant",
                expression: expr.to_string(),
                message: format!(
                    "{expr}: ref-1 failed: SHALL have a contained resource if a local reference \
                     is provided (no contained resource has id '{id}')"
                ),
            });
        }
    }

    fn binding(&mut self, vs: &str, item: &Value, expr: &str) {
        let Some(codes) = VALUE_SET_CODES.get(vs) else {
            return;
        };
        if let BindingCheck::Outside(found) = terminology::check(item, codes) {
            self.out.push(Issue {
                severity: Severity::Error,
                code: "code-invalid",
                expression: expr.to_string(),
                message: format!(
                    "{expr}: {} is not in the ValueSet {vs} (required binding in R4 core)",
                    found.join(", ")
                ),
            });
        }
    }

    fn evaluate(
        &mut self,
        constraints: &[&Constraint],
        focus: &Value,
        resource: &Value,
        expr: &str,
    ) {
        if constraints.is_empty() {
            return;
        }
        for (c, outcome) in invariants::evaluate(constraints, focus, resource, self.root) {
            if outcome == Outcome::Fails {
                self.out.push(invariants::issue(c, expr));
            }
        }
    }
}
