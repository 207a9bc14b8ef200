//! Extensions whose `url` names an extension StructureDefinition we carry (the R4 core ones the
//! examples of our types use, and the no-basis ones): each is walked against the definition's
//! snapshot (value[x] types, cardinality, nested extensions, fixed values) and its `context`
//! must allow the element it sits on. Extensions we do not carry are not judged here; a
//! profile whose extension slicing is closed warns about them (see [`super::walk`]).

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::Value;

use super::model::{self, Profile};
use super::walk::Walker;
use super::{Issue, Severity};

const SOURCES: &[&str] = &[
    include_str!("../../data/r4-core/StructureDefinition-humanname-own-prefix.json"),
    include_str!("../../data/r4-core/StructureDefinition-observation-bodyPosition.json"),
    include_str!("../../data/r4-core/StructureDefinition-observation-delta.json"),
    include_str!("../../data/r4-core/StructureDefinition-observation-geneticsDNARegionName.json"),
    include_str!("../../data/r4-core/StructureDefinition-observation-geneticsGene.json"),
    include_str!("../../data/r4-core/StructureDefinition-observation-geneticsGenomicSourceClass.json"),
    include_str!("../../data/r4-core/StructureDefinition-observation-sequelTo.json"),
    include_str!("../../data/r4-core/StructureDefinition-ordinalValue.json"),
    include_str!("../../data/r4-core/StructureDefinition-patient-animal.json"),
    include_str!("../../data/r4-core/StructureDefinition-patient-birthTime.json"),
    include_str!("../../data/r4-core/StructureDefinition-patient-mothersMaidenName.json"),
    include_str!("../../data/no-basis-2.2.0/no-basis-address-official.structuredefinition-extension.json"),
    include_str!("../../data/no-basis-2.2.0/no-basis-group.StructureDefinition-extension.json"),
    include_str!("../../data/no-basis-2.2.0/no-basis-middlename.structuredefinition-extension.json"),
    include_str!("../../data/no-basis-2.2.0/no-basis-municipalitycode.StructureDefinition-extension.json"),
    include_str!("../../data/no-basis-2.2.0/no-basis-partof.StructureDefinition-extension.json"),
    include_str!("../../data/no-basis-2.2.0/no-basis-person-citizenship.structuredefinition-extension.json"),
    include_str!("../../data/no-basis-2.2.0/no-basis-prescriptiongroup.StructureDefinition-extension.json"),
    include_str!("../../data/no-basis-2.2.0/no-basis-propertyinformation.structuredefinition-extension.json"),
    include_str!("../../data/no-basis-2.2.0/no-basis-relatedperson-person-reference.StructureDefinition-extension.json"),
    include_str!("../../data/no-basis-2.2.0/no-basis-shortnotice.StructureDefinition-extension.json"),
    include_str!("../../data/no-basis-2.2.0/no-basis-sourceofinformation.StructureDefinition-extension.json"),
    include_str!("../../data/no-basis-2.2.0/no-basis-urban-district.structuredefinition-extension.json"),
    include_str!("../../data/no-basis-2.2.0/no-basis-virtual-service.StructureDefinition-extension.json"),
];

/// Where an extension may be used (`StructureDefinition.context`).
#[derive(Debug)]
enum Context {
    /// An element path or type name (`Patient`, `Address.district`, `Element`).
    Element(String),
    /// Inside the extension with this URL.
    Extension(String),
}

pub(super) struct ExtensionDef {
    pub profile: Profile,
    contexts: Vec<Context>,
}

pub(super) static EXTENSIONS: LazyLock<HashMap<String, ExtensionDef>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .filter_map(|src| {
            let sd: Value = serde_json::from_str(src).ok()?;
            let contexts = sd
                .get("context")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|c| {
                    let e = c.get("expression")?.as_str()?.to_string();
                    match c.get("type")?.as_str()? {
                        "element" => Some(Context::Element(e)),
                        "extension" => Some(Context::Extension(e)),
                        // FHIRPath contexts are not judged.
                        _ => None,
                    }
                })
                .collect();
            let profile = model::parse(&sd)?;
            Some((profile.url.clone(), ExtensionDef { profile, contexts }))
        })
        .collect()
});

/// The element an extension sits on.
pub(super) struct Host<'a> {
    /// The element's type and the types it derives from (`HumanName`, `Element`).
    pub types: &'a [&'a str],
    /// The element's paths: from its type's definition (`Address.district`) and from the
    /// resource (`Patient.address.district`).
    pub paths: &'a [&'a str],
    /// The URL of the extension the host is, when it is one.
    pub extension_url: Option<&'a str>,
}

impl ExtensionDef {
    fn allows(&self, host: &Host<'_>) -> bool {
        self.contexts.is_empty()
            || self.contexts.iter().any(|c| match c {
                Context::Element(e) => {
                    e == "Element"
                        || host.types.contains(&e.as_str())
                        || host.paths.contains(&e.as_str())
                }
                Context::Extension(url) => host.extension_url == Some(url.as_str()),
            })
    }

    fn context_list(&self) -> String {
        self.contexts
            .iter()
            .map(|c| match c {
                Context::Element(e) | Context::Extension(e) => e.as_str(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Checks one `extension[i]` (at `expr`) on `host` against its definition, when we carry it.
pub(super) fn check(
    ext: &Value,
    host: &Host<'_>,
    resource: &Value,
    expr: &str,
    out: &mut Vec<Issue>,
) {
    let Some(obj) = ext.as_object() else { return };
    let Some(url) = obj.get("url").and_then(Value::as_str) else {
        return;
    };
    let Some(def) = EXTENSIONS.get(model::strip_version(url)) else {
        return;
    };
    if !def.allows(host) {
        out.push(Issue {
            severity: Severity::Error,
            code: "extension",
            expression: expr.to_string(),
            message: format!(
                "{expr}: the extension {url} is not allowed on {} (its context: {})",
                host.paths.last().copied().unwrap_or("this element"),
                def.context_list()
            ),
        });
    }
    let mut walker = Walker::new(&def.profile.name, resource);
    walker.object(&def.profile.root, obj, expr);
    out.append(&mut walker.out);
}

/// Whether we carry a definition for this extension URL.
pub(super) fn is_known(url: &str) -> bool {
    EXTENSIONS.contains_key(model::strip_version(url))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const MUNICIPALITY: &str = "http://hl7.no/fhir/StructureDefinition/no-basis-municipalitycode";

    fn run(ext: Value, types: &[&str], paths: &[&str]) -> Vec<Issue> {
        let mut out = Vec::new();
        let host = Host {
            types,
            paths,
            extension_url: None,
        };
        check(&ext, &host, &ext, "X.extension[0]", &mut out);
        out
    }

    #[test]
    fn validate_extensions_carried_definitions_load() {
        assert!(is_known(MUNICIPALITY));
        assert!(is_known(
            "http://hl7.org/fhir/StructureDefinition/patient-birthTime"
        ));
        assert!(!is_known("http://example.org/nope"));
    }

    #[test]
    fn validate_extensions_context_and_value_type() {
        let ok = json!({"url": MUNICIPALITY, "valueCoding": {
            "system": "urn:oid:2.16.578.1.12.4.1.1.3402", "code": "0301"}});
        let district = ["string"];
        let paths = ["Address.district", "Patient.address.district"];
        assert_eq!(run(ok.clone(), &district, &paths), vec![]);
        let issues = run(ok, &["Patient", "DomainResource"], &["Patient", "Patient"]);
        assert_eq!(issues.len(), 1, "{issues:#?}");
        assert_eq!(issues[0].code, "extension");
        assert!(issues[0].message.contains("its context: Address.district"));
        let wrong = json!({"url": MUNICIPALITY, "valueString": "0301"});
        let issues = run(wrong, &district, &paths);
        assert_eq!(issues.len(), 1, "{issues:#?}");
        assert_eq!(issues[0].expression, "X.extension[0].valueString");
    }
}
