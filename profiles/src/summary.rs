//! The summary elements of each resource type (`isSummary` in the R4 core definitions), for
//! `_summary=true`.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::Value;

/// Top-level summary element names per resource type; choice elements keep their `[x]`.
static SUMMARY: LazyLock<HashMap<String, Vec<String>>> = LazyLock::new(|| {
    let mut out = HashMap::new();
    for source in crate::validate::core_sources() {
        let Ok(sd) = serde_json::from_str::<Value>(source) else {
            continue;
        };
        if sd["kind"] != "resource" {
            continue;
        }
        let Some(type_name) = sd["type"].as_str() else {
            continue;
        };
        let names = sd["snapshot"]["element"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["isSummary"] == true)
            .filter_map(|e| {
                e["path"]
                    .as_str()?
                    .strip_prefix(type_name)?
                    .strip_prefix('.')
            })
            .filter(|p| !p.contains('.'))
            .map(str::to_string)
            .collect();
        out.insert(type_name.to_string(), names);
    }
    out
});

/// Whether the JSON property `key` of a `type_name` resource is a summary element.
/// `None` when the type's definition is not carried.
pub fn is_summary(type_name: &str, key: &str) -> Option<bool> {
    let names = SUMMARY.get(type_name)?;
    Some(names.iter().any(|n| {
        match n.strip_suffix("[x]") {
            Some(prefix) => key
                .strip_prefix(prefix)
                .and_then(|rest| rest.chars().next())
                .is_some_and(|c| c.is_ascii_uppercase()),
            None => n == key,
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patient_summary_follows_the_core_definition() {
        assert_eq!(is_summary("Patient", "name"), Some(true));
        assert_eq!(is_summary("Patient", "deceasedBoolean"), Some(true));
        assert_eq!(is_summary("Patient", "photo"), Some(false));
        assert_eq!(is_summary("Patient", "contact"), Some(false));
        assert_eq!(is_summary("Observation", "valueQuantity"), Some(true));
        assert_eq!(is_summary("Observation", "note"), Some(false));
        assert_eq!(is_summary("Nope", "name"), None);
    }
}
