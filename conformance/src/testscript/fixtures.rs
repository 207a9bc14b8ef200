//! Loading a script's fixtures: `#id` from `contained`, a file relative to the script's
//! folder, or `Type/id`. A `Type/id` names the file `Type-id.json` (how the R4 examples
//! package names its resources) in the script's folder or its `fixtures/` folder when
//! there is one, else the resource as the server has it when the run starts.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use super::http::{self, Body};
use super::script::Script;
use super::state::State;

/// The body each fixture reference names; a fixture that cannot be loaded maps to why, so
/// that only the actions using it fail.
pub async fn load(
    script: &Script,
    folder: &Path,
    state: &State,
) -> HashMap<String, Result<Body, String>> {
    let mut out = HashMap::new();
    for fixture in &script.fixture {
        let Some(id) = fixture.id.clone() else {
            continue;
        };
        let reference = fixture
            .resource
            .as_ref()
            .and_then(|r| r.reference.as_deref());
        let body = match reference {
            None => Err("the fixture names no resource".to_string()),
            Some(r) => resolve(r, script, folder, state).await,
        };
        out.insert(id, body);
    }
    out
}

async fn resolve(
    reference: &str,
    script: &Script,
    folder: &Path,
    state: &State,
) -> Result<Body, String> {
    if let Some(local) = reference.strip_prefix('#') {
        return script
            .contained
            .iter()
            .find(|c| c.get("id").and_then(Value::as_str) == Some(local))
            .map(|c| Body::json(c.clone()))
            .ok_or_else(|| format!("no contained resource with id '{local}'"));
    }
    if reference.starts_with("http://") || reference.starts_with("https://") {
        return from_server(reference, state).await;
    }
    let file = folder.join(reference);
    if file.is_file() {
        return read_file(&file);
    }
    if let Some((rtype, id)) = type_and_id(reference) {
        let name = format!("{rtype}-{id}.json");
        for candidate in [folder.join(&name), folder.join("fixtures").join(&name)] {
            if candidate.is_file() {
                return read_file(&candidate);
            }
        }
        return from_server(&state.url(reference), state).await;
    }
    Err(format!("'{reference}' is neither a file nor Type/id"))
}

/// `Patient/example` → (`Patient`, `example`).
fn type_and_id(reference: &str) -> Option<(&str, &str)> {
    let (rtype, id) = reference.split_once('/')?;
    let is_type = rtype.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && rtype.chars().all(|c| c.is_ascii_alphanumeric());
    let is_id = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    (is_type && is_id).then_some((rtype, id))
}

/// A JSON or XML resource file.
pub fn read_file(path: &Path) -> Result<Body, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let xml = path.extension().is_some_and(|e| e == "xml");
    let body = Body::received(xml.then_some("application/fhir+xml"), &text);
    if body.json.is_none() {
        return Err(format!("{} is not a FHIR resource", path.display()));
    }
    Ok(body)
}

async fn from_server(url: &str, state: &State) -> Result<Body, String> {
    let request = state.get(url, "application/fhir+json");
    let exchange = http::send(&state.client, request).await?;
    if exchange.status != 200 || exchange.body.json.is_none() {
        return Err(format!("GET {url} answered {}", exchange.status));
    }
    Ok(Body::json(exchange.body.json.unwrap_or_default()))
}
