//! Snapshots for carried profiles that ship only a differential (the VKP Observation profiles
//! other than blood pressure), generated at load time: the base definition's snapshot with the
//! differential applied on top.
//!
//! Each differential element is merged into the snapshot element with the same id (its
//! constraints added to the base's, every other property replacing the base's). An element the
//! snapshot lacks is made first: a new slice is a copy of the sliced element and its children,
//! placed after the sliced element's subtree; a child of an element whose type the snapshot does
//! not expand (`Observation.code.coding` under a CodeableConcept) comes from the type's own
//! definition. Re-slicing and choice-type children (`value[x].code`) are not made: a profile
//! that needs them keeps no snapshot and is not carried.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// The base profiles the carried differentials derive from, besides R4 core types.
const BASES: &[&str] = &[
    include_str!("../../data/r4-core/StructureDefinition-bodytemp.json"),
    include_str!("../../data/r4-core/StructureDefinition-heartrate.json"),
    include_str!("../../data/r4-core/StructureDefinition-bodyweight.json"),
    include_str!("../../data/r4-core/StructureDefinition-oxygensat.json"),
];

/// The definitions snapshots can be generated from: by URL (bases) and by type name (data
/// types to expand).
pub(super) struct Sources {
    by_url: HashMap<String, Vec<Value>>,
    by_type: HashMap<String, Vec<Value>>,
}

impl Sources {
    /// Reads the bases, the R4 core definitions and the carried profiles (`carried`, parsed).
    pub fn new(carried: &[Value]) -> Self {
        let mut s = Sources {
            by_url: HashMap::new(),
            by_type: HashMap::new(),
        };
        let parsed = BASES
            .iter()
            .chain(super::core::SOURCES)
            .filter_map(|src| serde_json::from_str::<Value>(src).ok());
        for sd in parsed.chain(carried.iter().cloned()) {
            let Some(elements) = snapshot(&sd) else {
                continue;
            };
            if let Some(url) = sd.get("url").and_then(Value::as_str) {
                s.by_url.insert(url.to_string(), elements.clone());
            }
            let specialization = sd.get("derivation").and_then(Value::as_str) != Some("constraint");
            if let (true, Some(t)) = (specialization, sd.get("type").and_then(Value::as_str)) {
                s.by_type.insert(t.to_string(), elements);
            }
        }
        s
    }

    /// `sd` with a snapshot: as it is when it has one, generated when its base is known.
    pub fn complete(&self, mut sd: Value) -> Option<Value> {
        if snapshot(&sd).is_some() {
            return Some(sd);
        }
        let base = sd.get("baseDefinition")?.as_str()?;
        let mut elements: Vec<Map<String, Value>> = self
            .by_url
            .get(super::model::strip_version(base))?
            .iter()
            .filter_map(|e| e.as_object().cloned())
            .collect();
        for d in sd.get("differential")?.get("element")?.as_array()? {
            let Some(d) = d.as_object() else { continue };
            let id = d.get("id")?.as_str()?;
            let i = self.ensure(&mut elements, id, 0)?;
            merge(&mut elements[i], d);
        }
        let elements: Vec<Value> = elements.into_iter().map(Value::Object).collect();
        sd.as_object_mut()?.insert(
            "snapshot".into(),
            serde_json::json!({ "element": elements }),
        );
        Some(sd)
    }

    /// The index of the element `id`, made if the snapshot lacks it.
    fn ensure(
        &self,
        elements: &mut Vec<Map<String, Value>>,
        id: &str,
        depth: usize,
    ) -> Option<usize> {
        if let Some(i) = position(elements, id) {
            return Some(i);
        }
        // Ids are a handful of segments deep; the bound stops a malformed id from looping.
        if depth > 16 {
            return None;
        }
        let (parent, last) = id.rsplit_once('.')?;
        if let Some((name, slice)) = last.split_once(':') {
            if slice.contains('/') {
                return None;
            }
            let sliced = format!("{parent}.{name}");
            let si = self.ensure(elements, &sliced, depth + 1)?;
            let end = subtree_end(elements, si, &sliced);
            let mut copies = Vec::new();
            for e in &elements[si..end] {
                let eid = e.get("id").and_then(Value::as_str).unwrap_or("");
                let rest = if eid == sliced {
                    ""
                } else if let Some(rest) = eid.strip_prefix(&format!("{sliced}.")) {
                    rest
                } else {
                    // Another slice of the same element.
                    continue;
                };
                let mut copy = e.clone();
                let new_id = if rest.is_empty() {
                    id.to_string()
                } else {
                    format!("{id}.{rest}")
                };
                copy.insert("id".into(), Value::from(new_id));
                if rest.is_empty() {
                    copy.insert("sliceName".into(), Value::from(slice));
                    copy.remove("slicing");
                }
                copies.push(copy);
            }
            elements.splice(end..end, copies);
            return Some(end);
        }
        // A child of an element whose type is not expanded here.
        let pi = self.ensure(elements, parent, depth + 1)?;
        let types = elements[pi].get("type").and_then(Value::as_array)?;
        let [t] = types.as_slice() else {
            return None;
        };
        let t = t.get("code")?.as_str()?;
        let parent_path = elements[pi].get("path")?.as_str()?.to_string();
        let children: Vec<Map<String, Value>> = self
            .by_type
            .get(t)?
            .iter()
            .filter_map(|e| {
                let mut e = e.as_object()?.clone();
                let eid = e.get("id")?.as_str()?.strip_prefix(t)?.to_string();
                let epath = e.get("path")?.as_str()?.strip_prefix(t)?.to_string();
                if eid.is_empty() {
                    return None;
                }
                e.insert("id".into(), Value::from(format!("{parent}{eid}")));
                e.insert("path".into(), Value::from(format!("{parent_path}{epath}")));
                Some(e)
            })
            .collect();
        elements.splice(pi + 1..pi + 1, children);
        position(elements, id)
    }
}

fn snapshot(sd: &Value) -> Option<Vec<Value>> {
    sd.get("snapshot")?.get("element")?.as_array().cloned()
}

fn position(elements: &[Map<String, Value>], id: &str) -> Option<usize> {
    elements
        .iter()
        .position(|e| e.get("id").and_then(Value::as_str) == Some(id))
}

/// The end (exclusive) of the subtree of the element at `start` with id `id`: its children and
/// its slices with theirs.
fn subtree_end(elements: &[Map<String, Value>], start: usize, id: &str) -> usize {
    let child = format!("{id}.");
    let slice = format!("{id}:");
    start
        + 1
        + elements[start + 1..]
            .iter()
            .take_while(|e| {
                let eid = e.get("id").and_then(Value::as_str).unwrap_or("");
                eid.starts_with(&child) || eid.starts_with(&slice)
            })
            .count()
}

/// Applies a differential element's properties to the snapshot element.
fn merge(e: &mut Map<String, Value>, d: &Map<String, Value>) {
    for (k, v) in d {
        match k.as_str() {
            "id" | "path" => {}
            "constraint" => {
                let mut all = e
                    .get("constraint")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                all.extend(v.as_array().into_iter().flatten().cloned());
                e.insert(k.clone(), Value::Array(all));
            }
            _ => {
                e.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn validate_snapshot_differential_applies_onto_the_base() {
        let sources = Sources::new(&[]);
        let sd = json!({
            "url": "http://example.org/weight", "type": "Observation",
            "baseDefinition": "http://hl7.org/fhir/StructureDefinition/bodyweight",
            "derivation": "constraint",
            "differential": {"element": [
                {"id": "Observation.code.coding:SCT", "path": "Observation.code.coding",
                 "sliceName": "SCT"},
                {"id": "Observation.code.coding:SCT.system", "path": "Observation.code.coding.system",
                 "min": 1, "patternUri": "http://snomed.info/sct"},
                {"id": "Observation.subject.identifier.system",
                 "path": "Observation.subject.identifier.system", "min": 1}
            ]}
        });
        let sd = sources.complete(sd).unwrap();
        let elements = sd["snapshot"]["element"].as_array().unwrap();
        let get = |id: &str| elements.iter().find(|e| e["id"] == id).cloned();
        let slice = get("Observation.code.coding:SCT").unwrap();
        assert_eq!(slice["sliceName"], "SCT");
        let system = get("Observation.code.coding:SCT.system").unwrap();
        assert_eq!(
            (system["min"].clone(), system["patternUri"].clone()),
            (json!(1), json!("http://snomed.info/sct"))
        );
        // Expanded from Reference, then Identifier.
        let id_system = get("Observation.subject.identifier.system").unwrap();
        assert_eq!(id_system["path"], "Observation.subject.identifier.system");
        assert_eq!(id_system["min"], 1);
        // The base's own slices are kept.
        assert!(get("Observation.code.coding:BodyWeightCode").is_some());
    }
}
