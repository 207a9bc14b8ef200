//! The carried StructureDefinitions, parsed from their snapshots into a tree of element
//! definitions: one node per element id, children by name, slices under their sliced element.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use serde_json::Value;

use super::invariants::{self, Constraint};
use super::snapshot;

/// The StructureDefinitions we carry (file contents). Those without a snapshot (the VKP
/// Observation profiles) get one generated from their differential at load time.
const SOURCES: &[&str] = &[
    include_str!("../../data/no-basis-2.2.0/no-basis-Patient.structuredefinition-profile.json"),
    include_str!(
        "../../data/no-basis-2.2.0/no-basis-Practitioner.structuredefinition-profile.json"
    ),
    include_str!(
        "../../data/no-basis-2.2.0/no-basis-Organization.structuredefinition-profile.json"
    ),
    include_str!("../../data/no-basis-2.2.0/no-basis-Medication.StructureDefinition.json"),
    include_str!(
        "../../data/no-basis-2.2.0/no-basis-MedicationStatement.StructureDefinition.json"
    ),
    include_str!("../../data/no-basis-2.2.0/no-basis-Composition.structuredefinition.json"),
    include_str!("../../data/no-basis-2.2.0/no-basis-Address.structuredefinition-profile.json"),
    include_str!("../../data/no-basis-2.2.0/no-basis-HumanName.structuredefinition-profile.json"),
    include_str!("../../data/helsebro-Communication.StructureDefinition.json"),
    include_str!(
        "../../data/vkp-r4-v090/StructureDefinition/vkp-ObservationBloodPressure-v090.structuredefinition-profile.json"
    ),
    include_str!(
        "../../data/vkp-r4-v090/StructureDefinition/vkp-Observation-v090.structuredefinition-profile.json"
    ),
    include_str!(
        "../../data/vkp-r4-v090/StructureDefinition/vkp-ObservationBodytemp-v090.structuredefinition-profile.json"
    ),
    include_str!(
        "../../data/vkp-r4-v090/StructureDefinition/vkp-ObservationBodyweight-v090.structuredefinition-profile.json"
    ),
    include_str!(
        "../../data/vkp-r4-v090/StructureDefinition/vkp-ObservationHeartrate-v090.structuredefinition-profile.json"
    ),
    include_str!(
        "../../data/vkp-r4-v090/StructureDefinition/vkp-ObservationOxygensat-v090.structuredefinition-profile.json"
    ),
];

pub(super) const UNBOUNDED: u32 = u32::MAX;

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Discriminator {
    /// `value`, `pattern`, `type`, `exists` or `profile`.
    pub kind: String,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Slicing {
    pub discriminators: Vec<Discriminator>,
    /// `open`, `closed` or `openAtEnd`.
    pub rules: String,
}

/// What the profile says about one element.
#[derive(Debug, Default)]
pub(super) struct Node {
    /// The last segment of the path, e.g. `identifier` or `value[x]`.
    pub name: String,
    /// The slice name when this node is a slice.
    pub slice_name: Option<String>,
    pub min: u32,
    pub max: u32,
    /// `fixed[x]` value.
    pub fixed: Option<Value>,
    /// `pattern[x]` value.
    pub pattern: Option<Value>,
    /// ValueSet canonical (version stripped) of a required binding.
    pub required_binding: Option<String>,
    /// Type codes (for choice elements: which types are allowed).
    pub types: Vec<String>,
    /// Profiles on the element's types (e.g. no-basis-Address on Patient.address).
    pub type_profiles: Vec<String>,
    pub slicing: Option<Slicing>,
    /// The element's invariants (core ones included; the walk evaluates only the profile's own).
    pub constraints: Vec<Arc<Constraint>>,
    pub children: Vec<Node>,
    pub slices: Vec<Node>,
}

impl Node {
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    fn child_mut(&mut self, name: &str) -> Option<&mut Node> {
        self.children.iter_mut().find(|c| c.name == name)
    }
}

#[derive(Debug)]
pub(super) struct Profile {
    pub url: String,
    /// The short name used in messages, e.g. `no-basis-Patient`.
    pub name: String,
    /// The type constrained (`Patient`, `Address`, ...).
    pub type_name: String,
    pub root: Node,
}

pub(super) static PROFILES: LazyLock<BTreeMap<String, Profile>> = LazyLock::new(|| {
    // A definition that does not load is left out (a test checks that every one loads), so a
    // bad file cannot take validation down.
    let sds: Vec<Value> = SOURCES
        .iter()
        .filter_map(|src| serde_json::from_str(src).ok())
        .collect();
    let sources = snapshot::Sources::new(&sds);
    sds.into_iter()
        .filter_map(|sd| parse(&sources.complete(sd)?))
        .map(|profile| (profile.url.clone(), profile))
        .collect()
});

/// Strips `|version` from a canonical.
pub(super) fn strip_version(canonical: &str) -> &str {
    canonical.split('|').next().unwrap_or(canonical)
}

fn value_with_prefix(e: &serde_json::Map<String, Value>, prefix: &str) -> Option<Value> {
    e.iter()
        .find(|(k, _)| {
            k.strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
        })
        .map(|(_, v)| v.clone())
}

fn parse_node(name: &str, e: &serde_json::Map<String, Value>) -> Node {
    let min = e.get("min").and_then(Value::as_u64).unwrap_or(0) as u32;
    let max = match e.get("max").and_then(Value::as_str) {
        Some("*") | None => UNBOUNDED,
        Some(n) => n.parse().unwrap_or(UNBOUNDED),
    };
    let required_binding = e
        .get("binding")
        .filter(|b| b.get("strength").and_then(Value::as_str) == Some("required"))
        .and_then(|b| b.get("valueSet")?.as_str())
        .map(|vs| strip_version(vs).to_string());
    let mut types = Vec::new();
    let mut type_profiles = Vec::new();
    for t in e
        .get("type")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(code) = t.get("code").and_then(Value::as_str) {
            types.push(code.to_string());
        }
        for p in t
            .get("profile")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(p) = p.as_str() {
                type_profiles.push(strip_version(p).to_string());
            }
        }
    }
    let slicing = e.get("slicing").map(|s| Slicing {
        discriminators: s
            .get("discriminator")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|d| Discriminator {
                kind: d
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                path: d
                    .get("path")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            })
            .collect(),
        rules: s
            .get("rules")
            .and_then(Value::as_str)
            .unwrap_or("open")
            .to_string(),
    });
    Node {
        name: name.to_string(),
        slice_name: e
            .get("sliceName")
            .and_then(Value::as_str)
            .map(str::to_string),
        min,
        max,
        fixed: value_with_prefix(e, "fixed"),
        pattern: value_with_prefix(e, "pattern"),
        required_binding,
        types,
        type_profiles,
        slicing,
        constraints: invariants::of_element(e),
        children: Vec::new(),
        slices: Vec::new(),
    }
}

/// The node for a path of `name` or `name:slice` segments below `node`.
fn descend<'n>(node: &'n mut Node, segments: &[&str]) -> Option<&'n mut Node> {
    let Some((seg, rest)) = segments.split_first() else {
        return Some(node);
    };
    let (name, slice) = match seg.split_once(':') {
        Some((n, s)) => (n, Some(s)),
        None => (*seg, None),
    };
    let child = node.child_mut(name)?;
    let next = match slice {
        None => child,
        Some(s) => child
            .slices
            .iter_mut()
            .find(|c| c.slice_name.as_deref() == Some(s))?,
    };
    descend(next, rest)
}

/// Builds the element tree of a StructureDefinition from its snapshot. Element ids look like
/// `Patient.identifier:FNR.system`; re-slices (`a:b/c`) are ignored.
pub(super) fn parse(sd: &Value) -> Option<Profile> {
    let url = sd.get("url")?.as_str()?.to_string();
    let name = url.rsplit('/').next().unwrap_or(&url).to_string();
    let type_name = sd.get("type")?.as_str()?.to_string();
    let elements = sd.get("snapshot")?.get("element")?.as_array()?;
    let mut root: Option<Node> = None;
    for e in elements {
        let Some(e) = e.as_object() else { continue };
        let Some(id) = e.get("id").and_then(Value::as_str) else {
            continue;
        };
        if id.contains('/') {
            continue;
        }
        let segments: Vec<&str> = id.split('.').collect();
        if segments.len() == 1 {
            root = Some(parse_node(segments[0], e));
            continue;
        }
        let (parents, last) = segments[1..].split_at(segments.len() - 2);
        let Some(node) = root.as_mut().and_then(|r| descend(r, parents)) else {
            continue;
        };
        match last[0].split_once(':') {
            None => node.children.push(parse_node(last[0], e)),
            Some((n, s)) => {
                let mut slice = parse_node(n, e);
                slice.slice_name = Some(s.to_string());
                if let Some(base) = node.child_mut(n) {
                    base.slices.push(slice);
                }
            }
        }
    }
    Some(Profile {
        url,
        name,
        type_name,
        root: root?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_model_every_carried_profile_parses() {
        assert_eq!(PROFILES.len(), SOURCES.len());
        let patient = &PROFILES["http://hl7.no/fhir/StructureDefinition/no-basis-Patient"];
        assert_eq!(patient.type_name, "Patient");
        let identifier = patient.root.child("identifier").unwrap();
        assert_eq!(identifier.slices.len(), 4);
        let fnr = &identifier.slices[0];
        assert_eq!(fnr.slice_name.as_deref(), Some("FNR"));
        assert_eq!(
            fnr.child("system").unwrap().fixed,
            Some(Value::from("urn:oid:2.16.578.1.12.4.1.4.1"))
        );
        let slicing = identifier.slicing.as_ref().unwrap();
        assert_eq!(slicing.discriminators[0].path, "system");
    }
}
