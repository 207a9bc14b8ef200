//! The R4 core definitions the validator walks an instance with (`data/r4-core/`): for each
//! resource and complex data type we carry, its elements by path with their types, constraints
//! and required bindings.
//!
//! The structure check ([`crate::structure`]) already enforces core cardinality and types; this
//! model exists for what it does not do: FHIRPath invariants, required bindings to the core
//! ValueSets, and knowing each element's type so that data type invariants (per-1, qty-3, ...)
//! and extension contexts apply where the type is used.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use serde_json::{Map, Value};

use super::invariants::{self, Constraint};
use super::model::strip_version;

/// The core StructureDefinitions of resources and data types (extensions are in
/// [`super::extensions`]).
pub(super) const SOURCES: &[&str] = &[
    include_str!("../../data/r4-core/StructureDefinition-Address.json"),
    include_str!("../../data/r4-core/StructureDefinition-Age.json"),
    include_str!("../../data/r4-core/StructureDefinition-Annotation.json"),
    include_str!("../../data/r4-core/StructureDefinition-Attachment.json"),
    include_str!("../../data/r4-core/StructureDefinition-BackboneElement.json"),
    include_str!("../../data/r4-core/StructureDefinition-CodeableConcept.json"),
    include_str!("../../data/r4-core/StructureDefinition-Coding.json"),
    include_str!("../../data/r4-core/StructureDefinition-Communication.json"),
    include_str!("../../data/r4-core/StructureDefinition-ContactDetail.json"),
    include_str!("../../data/r4-core/StructureDefinition-ContactPoint.json"),
    include_str!("../../data/r4-core/StructureDefinition-Contributor.json"),
    include_str!("../../data/r4-core/StructureDefinition-Count.json"),
    include_str!("../../data/r4-core/StructureDefinition-DataRequirement.json"),
    include_str!("../../data/r4-core/StructureDefinition-Distance.json"),
    include_str!("../../data/r4-core/StructureDefinition-DomainResource.json"),
    include_str!("../../data/r4-core/StructureDefinition-Dosage.json"),
    include_str!("../../data/r4-core/StructureDefinition-Duration.json"),
    include_str!("../../data/r4-core/StructureDefinition-Element.json"),
    include_str!("../../data/r4-core/StructureDefinition-Expression.json"),
    include_str!("../../data/r4-core/StructureDefinition-Extension.json"),
    include_str!("../../data/r4-core/StructureDefinition-HumanName.json"),
    include_str!("../../data/r4-core/StructureDefinition-Identifier.json"),
    include_str!("../../data/r4-core/StructureDefinition-MedicationStatement.json"),
    include_str!("../../data/r4-core/StructureDefinition-Meta.json"),
    include_str!("../../data/r4-core/StructureDefinition-Money.json"),
    include_str!("../../data/r4-core/StructureDefinition-Narrative.json"),
    include_str!("../../data/r4-core/StructureDefinition-Observation.json"),
    include_str!("../../data/r4-core/StructureDefinition-Organization.json"),
    include_str!("../../data/r4-core/StructureDefinition-ParameterDefinition.json"),
    include_str!("../../data/r4-core/StructureDefinition-Patient.json"),
    include_str!("../../data/r4-core/StructureDefinition-Period.json"),
    include_str!("../../data/r4-core/StructureDefinition-Practitioner.json"),
    include_str!("../../data/r4-core/StructureDefinition-Quantity.json"),
    include_str!("../../data/r4-core/StructureDefinition-Range.json"),
    include_str!("../../data/r4-core/StructureDefinition-Ratio.json"),
    include_str!("../../data/r4-core/StructureDefinition-Reference.json"),
    include_str!("../../data/r4-core/StructureDefinition-RelatedArtifact.json"),
    include_str!("../../data/r4-core/StructureDefinition-Resource.json"),
    include_str!("../../data/r4-core/StructureDefinition-SampledData.json"),
    include_str!("../../data/r4-core/StructureDefinition-Signature.json"),
    include_str!("../../data/r4-core/StructureDefinition-SimpleQuantity.json"),
    include_str!("../../data/r4-core/StructureDefinition-Timing.json"),
    include_str!("../../data/r4-core/StructureDefinition-TriggerDefinition.json"),
    include_str!("../../data/r4-core/StructureDefinition-UsageContext.json"),
];

/// A type of an element: its code and the profiles on it (e.g. Quantity with SimpleQuantity).
#[derive(Debug)]
pub(super) struct TypeRef {
    pub code: String,
    pub profiles: Vec<String>,
}

/// One element of a core definition.
#[derive(Debug)]
pub(super) struct ElementDef {
    pub types: Vec<TypeRef>,
    pub constraints: Vec<Arc<Constraint>>,
    /// ValueSet canonical (version stripped) of a required binding.
    pub required_binding: Option<String>,
    /// For `contentReference` elements, the path whose definition applies (without `#`).
    pub content_reference: Option<String>,
}

/// A resource or complex data type, or a data type profile (SimpleQuantity).
#[derive(Debug)]
pub(super) struct CoreType {
    /// The type name (`Patient`, `Quantity`; `Quantity` for SimpleQuantity too).
    pub name: String,
    /// The base type's name (`Quantity` for Age, `DomainResource` for Patient).
    pub base: Option<String>,
    /// Elements by full path (`Patient.contact.name`), the root included.
    pub elements: HashMap<String, ElementDef>,
}

impl CoreType {
    /// The constraints on the type itself (its root element).
    pub fn root_constraints(&self) -> &[Arc<Constraint>] {
        self.elements
            .get(&self.name)
            .map(|e| e.constraints.as_slice())
            .unwrap_or(&[])
    }

    /// The definition of the JSON property `key` of the element at `parent` (a resolved path),
    /// its path, and the type code it has there: choice elements (`valueQuantity`) resolve to
    /// `value[x]` with the type named by the suffix.
    pub fn child<'a>(
        &'a self,
        parent: &str,
        key: &str,
    ) -> Option<(String, &'a ElementDef, &'a TypeRef)> {
        let path = format!("{parent}.{key}");
        if let Some(def) = self.elements.get(&path) {
            // contentReference elements carry no type: they are backbone elements.
            let t = def.types.first().unwrap_or(&BACKBONE);
            return Some((path, def, t));
        }
        for (i, c) in key.char_indices().skip(1) {
            if !c.is_ascii_uppercase() {
                continue;
            }
            let (base, suffix) = key.split_at(i);
            let path = format!("{parent}.{base}[x]");
            if let Some(def) = self.elements.get(&path) {
                let t = def.types.iter().find(|t| capitalized(&t.code) == suffix)?;
                return Some((path, def, t));
            }
        }
        None
    }

    /// The path whose children apply at `path`: a contentReference element's children are
    /// those of the element it refers to.
    pub fn resolve<'a>(&'a self, path: &'a str) -> &'a str {
        self.elements
            .get(path)
            .and_then(|e| e.content_reference.as_deref())
            .unwrap_or(path)
    }
}

static BACKBONE: TypeRef = TypeRef {
    code: String::new(),
    profiles: Vec::new(),
};

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

pub(super) struct Core {
    /// Every carried definition by canonical URL (type profiles such as SimpleQuantity too).
    pub by_url: HashMap<String, CoreType>,
    /// Type name → the URL of its specialization.
    names: HashMap<String, String>,
}

impl Core {
    /// The specialization of a type (`Patient`, `Period`).
    pub fn named(&self, name: &str) -> Option<&CoreType> {
        self.by_url.get(self.names.get(name)?)
    }

    /// The definition that applies to an instance of `t`: its profile when we carry it, else
    /// the type.
    pub fn for_type(&self, t: &TypeRef) -> Option<&CoreType> {
        t.profiles
            .iter()
            .find_map(|p| self.by_url.get(p))
            .or_else(|| self.named(&t.code))
    }
}

pub(super) static CORE: LazyLock<Core> = LazyLock::new(|| {
    let mut core = Core {
        by_url: HashMap::new(),
        names: HashMap::new(),
    };
    for src in SOURCES {
        let Ok(sd) = serde_json::from_str::<Value>(src) else {
            continue;
        };
        let Some((url, specialization, t)) = parse(&sd) else {
            continue;
        };
        if specialization {
            core.names.insert(t.name.clone(), url.clone());
        }
        core.by_url.insert(url, t);
    }
    core
});

fn parse(sd: &Value) -> Option<(String, bool, CoreType)> {
    let url = sd.get("url")?.as_str()?.to_string();
    let name = sd.get("type")?.as_str()?.to_string();
    let specialization = sd.get("derivation").and_then(Value::as_str) != Some("constraint");
    let base = sd
        .get("baseDefinition")
        .and_then(Value::as_str)
        .and_then(|b| b.rsplit('/').next())
        .map(str::to_string);
    let mut elements = HashMap::new();
    for e in sd.get("snapshot")?.get("element")?.as_array()? {
        let Some(e) = e.as_object() else { continue };
        let Some(path) = e.get("path").and_then(Value::as_str) else {
            continue;
        };
        // Slices of core profiles (none in the specializations) are not walked here.
        if e.contains_key("sliceName") {
            continue;
        }
        elements.insert(path.to_string(), element(e));
    }
    Some((
        url,
        specialization,
        CoreType {
            name,
            base,
            elements,
        },
    ))
}

fn element(e: &Map<String, Value>) -> ElementDef {
    let types = e
        .get("type")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            Some(TypeRef {
                code: t.get("code")?.as_str()?.to_string(),
                profiles: t
                    .get("profile")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(|p| strip_version(p).to_string())
                    .collect(),
            })
        })
        .collect();
    ElementDef {
        types,
        constraints: invariants::of_element(e),
        required_binding: e
            .get("binding")
            .filter(|b| b.get("strength").and_then(Value::as_str) == Some("required"))
            .and_then(|b| b.get("valueSet")?.as_str())
            .map(|vs| strip_version(vs).to_string()),
        content_reference: e
            .get("contentReference")
            .and_then(Value::as_str)
            .map(|r| r.trim_start_matches('#').to_string()),
    }
}

/// Whether `key` is a constraint of the core definitions (profiles repeat them; they are
/// evaluated once, by the core walk).
pub(super) fn is_core_key(key: &str) -> bool {
    static KEYS: LazyLock<std::collections::HashSet<String>> = LazyLock::new(|| {
        CORE.by_url
            .values()
            .flat_map(|t| t.elements.values())
            .flat_map(|e| e.constraints.iter().map(|c| c.key.clone()))
            .chain(
                invariants::NOT_EVALUATED
                    .iter()
                    .map(|(k, _)| (*k).to_string()),
            )
            .collect()
    });
    KEYS.contains(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_core_types_load_with_their_constraints() {
        let patient = &CORE.named("Patient").unwrap();
        let (_, contact, t) = patient.child("Patient", "contact").unwrap();
        assert_eq!(t.code, "BackboneElement");
        assert!(contact.constraints.iter().any(|c| c.key == "pat-1"));
        let (_, gender, _) = patient.child("Patient", "gender").unwrap();
        assert_eq!(
            gender.required_binding.as_deref(),
            Some("http://hl7.org/fhir/ValueSet/administrative-gender")
        );
        let obs = &CORE.named("Observation").unwrap();
        let (path, _, t) = obs.child("Observation", "valueQuantity").unwrap();
        assert_eq!(
            (path.as_str(), t.code.as_str()),
            ("Observation.value[x]", "Quantity")
        );
        let (_, _, t) = obs.child("Observation", "effectiveDateTime").unwrap();
        assert_eq!(t.code, "dateTime");
        assert!(obs
            .child("Observation.component", "referenceRange")
            .is_some());
        assert!(obs
            .child(obs.resolve("Observation.component.referenceRange"), "low")
            .is_some());
        let keys: Vec<&str> = obs
            .root_constraints()
            .iter()
            .map(|c| c.key.as_str())
            .collect();
        assert_eq!(keys, ["dom-2", "dom-4", "dom-5", "dom-6", "obs-6", "obs-7"]);
        assert_eq!(
            CORE.named("Period").unwrap().root_constraints()[0].key,
            "per-1"
        );
        let simple = &CORE.by_url["http://hl7.org/fhir/StructureDefinition/SimpleQuantity"];
        assert!(simple.root_constraints().iter().any(|c| c.key == "sqty-1"));
        assert!(is_core_key("pat-1") && is_core_key("ele-1") && !is_core_key("hbcom-1"));
    }
}
