//! The TestScript resource as the engine reads it (the R4 elements it acts on; others are
//! ignored), and finding and loading script files.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::error::EngineError;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Script {
    pub resource_type: String,
    pub id: Option<String>,
    pub name: Option<String>,
    pub title: Option<String>,
    pub contained: Vec<Value>,
    pub fixture: Vec<Fixture>,
    pub profile: Vec<Reference>,
    pub variable: Vec<Variable>,
    pub setup: Option<Phase>,
    pub test: Vec<Test>,
    pub teardown: Option<Phase>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Fixture {
    pub id: Option<String>,
    pub autocreate: bool,
    pub autodelete: bool,
    pub resource: Option<Reference>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Reference {
    pub id: Option<String>,
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Variable {
    pub name: String,
    pub default_value: Option<String>,
    pub expression: Option<String>,
    pub header_field: Option<String>,
    pub path: Option<String>,
    pub source_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Phase {
    pub action: Vec<Action>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Test {
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub action: Vec<Action>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Action {
    pub operation: Option<Operation>,
    pub assert: Option<Assert>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Coding {
    pub system: Option<String>,
    pub code: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Header {
    pub field: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Operation {
    #[serde(rename = "type")]
    pub kind: Option<Coding>,
    pub resource: Option<String>,
    pub label: Option<String>,
    pub description: Option<String>,
    pub accept: Option<String>,
    pub content_type: Option<String>,
    /// Whether the engine percent-encodes the query (R4 1..1; absent means yes, as in
    /// Touchstone), so a `+` in `ge2026-01-01T00:00:00+01:00` is not read as a space.
    pub encode_request_url: Option<bool>,
    pub method: Option<String>,
    pub params: Option<String>,
    pub request_header: Vec<Header>,
    pub request_id: Option<String>,
    pub response_id: Option<String>,
    pub source_id: Option<String>,
    pub target_id: Option<String>,
    pub url: Option<String>,
}

impl Operation {
    /// The operation code (`read`, `create`, `validate`, …), if the script names one.
    pub fn code(&self) -> Option<&str> {
        self.kind.as_ref().and_then(|c| c.code.as_deref())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Assert {
    pub label: Option<String>,
    pub description: Option<String>,
    pub direction: Option<String>,
    pub compare_to_source_id: Option<String>,
    pub compare_to_source_expression: Option<String>,
    pub compare_to_source_path: Option<String>,
    pub content_type: Option<String>,
    pub expression: Option<String>,
    pub header_field: Option<String>,
    pub minimum_id: Option<String>,
    pub navigation_links: Option<bool>,
    pub operator: Option<String>,
    pub path: Option<String>,
    pub request_method: Option<String>,
    #[serde(rename = "requestURL")]
    pub request_url: Option<String>,
    pub resource: Option<String>,
    pub response: Option<String>,
    pub response_code: Option<String>,
    pub source_id: Option<String>,
    pub validate_profile_id: Option<String>,
    pub value: Option<String>,
    pub warning_only: bool,
}

/// A script and where it was read from (fixture files resolve against its folder).
#[derive(Debug, Clone)]
pub struct LoadedScript {
    pub path: PathBuf,
    pub script: Script,
}

impl LoadedScript {
    /// The folder relative fixture references start from.
    pub fn folder(&self) -> &Path {
        self.path.parent().unwrap_or_else(|| Path::new("."))
    }

    /// What a person calls the script: its title, name or id, else its file name.
    pub fn display_name(&self) -> String {
        let s = &self.script;
        s.title
            .clone()
            .or_else(|| s.name.clone())
            .or_else(|| s.id.clone())
            .unwrap_or_else(|| self.path.display().to_string())
    }

    /// The id reports are named by: the script's id, else its file stem.
    pub fn report_id(&self) -> String {
        self.script.id.clone().unwrap_or_else(|| {
            self.path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "testscript".into())
        })
    }
}

/// Reads one file: `Ok(None)` when it is JSON but not a TestScript (a fixture beside the
/// scripts), an error when it is not JSON or a malformed TestScript.
pub fn load(path: &Path) -> Result<Option<LoadedScript>, EngineError> {
    let text = std::fs::read_to_string(path).map_err(|source| EngineError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let value: Value = serde_json::from_str(&text).map_err(|source| EngineError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    if value.get("resourceType").and_then(Value::as_str) != Some("TestScript") {
        return Ok(None);
    }
    let script: Script = serde_json::from_value(value).map_err(|e| EngineError::InvalidScript {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    check(&script).map_err(|reason| EngineError::InvalidScript {
        path: path.to_path_buf(),
        reason,
    })?;
    Ok(Some(LoadedScript {
        path: path.to_path_buf(),
        script,
    }))
}

/// The invariants the engine relies on: an action is an operation or an assert (tst-1,
/// tst-2); teardown holds operations only; an operation says what to call (tst-7 allows a
/// type with targetId, params or url; create/update name their body with sourceId).
fn check(script: &Script) -> Result<(), String> {
    let phases = script
        .setup
        .iter()
        .map(|p| ("setup", &p.action))
        .chain(script.test.iter().map(|t| ("test", &t.action)))
        .chain(script.teardown.iter().map(|p| ("teardown", &p.action)));
    for (phase, actions) in phases {
        if actions.is_empty() && phase != "test" {
            return Err(format!("{phase} has no action"));
        }
        for (i, action) in actions.iter().enumerate() {
            let n = i + 1;
            match (&action.operation, &action.assert) {
                (Some(_), Some(_)) => {
                    return Err(format!("{phase} action {n} is both operation and assert"))
                }
                (None, None) => {
                    return Err(format!(
                        "{phase} action {n} is neither operation nor assert"
                    ))
                }
                (None, Some(_)) if phase == "teardown" => {
                    return Err(format!("teardown action {n} is an assert"))
                }
                (Some(op), None) if op.code().is_none() && op.url.is_none() => {
                    return Err(format!("{phase} action {n}: operation without type or url"))
                }
                _ => {}
            }
        }
    }
    for v in &script.variable {
        if v.name.is_empty() {
            return Err("a variable has no name".into());
        }
    }
    Ok(())
}

/// The script files under `paths`: files as given, folders searched recursively for
/// `*.json` files that are TestScripts, in name order so runs repeat.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<LoadedScript>, EngineError> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut files = Vec::new();
            json_files(path, &mut files)?;
            files.sort();
            for file in files {
                out.extend(load(&file)?);
            }
        } else {
            match load(path)? {
                Some(script) => out.push(script),
                None => {
                    let found = std::fs::read_to_string(path)
                        .ok()
                        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                        .and_then(|v| v.get("resourceType")?.as_str().map(String::from))
                        .unwrap_or_default();
                    return Err(EngineError::NotTestScript {
                        path: path.clone(),
                        found,
                    });
                }
            }
        }
    }
    if out.is_empty() {
        return Err(EngineError::NoScripts(paths.to_vec()));
    }
    Ok(out)
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), EngineError> {
    let read = |source| EngineError::Read {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let path = entry.map_err(read)?.path();
        if path.is_dir() {
            json_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}
