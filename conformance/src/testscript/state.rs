//! What a running script has gathered: fixtures, the responses and requests it named, the
//! latest exchange, and what it needs to reach the server.

use std::collections::HashMap;

use super::http::{Body, Exchange, Request};
use super::script::Variable;

pub struct State {
    /// The FHIR base, without a trailing `/`.
    pub base: String,
    pub token: Option<String>,
    pub client: reqwest::Client,
    /// Static fixtures by id; a fixture that could not be loaded is an `Err` with why.
    pub fixtures: HashMap<String, Result<Body, String>>,
    /// `Type/id` on the server of fixtures made by `autocreate`.
    pub server_ids: HashMap<String, String>,
    /// Exchanges by `responseId` and by `requestId`.
    pub responses: HashMap<String, Exchange>,
    pub requests: HashMap<String, Exchange>,
    /// The latest operation's exchange; `None` before the first or after one that failed
    /// to get a response (so asserts never read a stale response).
    pub last: Option<Exchange>,
    pub variables: Vec<Variable>,
    pub overrides: Vec<(String, String)>,
    /// `profile[].id` → the profile's canonical URL.
    pub profiles: HashMap<String, String>,
}

impl State {
    /// The body `id` names (a response id or a fixture id), or the latest response's.
    pub fn body(&self, id: Option<&str>) -> Result<&Body, String> {
        match id {
            None => self
                .last
                .as_ref()
                .map(|e| &e.body)
                .ok_or_else(|| "there is no response to check".to_string()),
            Some(id) => {
                if let Some(e) = self.responses.get(id) {
                    return Ok(&e.body);
                }
                match self.fixtures.get(id) {
                    Some(Ok(body)) => Ok(body),
                    Some(Err(why)) => Err(format!("fixture '{id}' is not available: {why}")),
                    None => Err(format!("no fixture or response named '{id}'")),
                }
            }
        }
    }

    /// The exchange `id` names (a responseId or requestId), or the latest one.
    pub fn exchange(&self, id: Option<&str>) -> Result<&Exchange, String> {
        match id {
            None => self
                .last
                .as_ref()
                .ok_or_else(|| "there is no response to check".to_string()),
            Some(id) => self
                .responses
                .get(id)
                .or_else(|| self.requests.get(id))
                .ok_or_else(|| format!("no response or request named '{id}'")),
        }
    }

    /// `base/path`, or `path` itself when it is already absolute.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else if path.is_empty() {
            self.base.clone()
        } else {
            format!("{}/{}", self.base, path.trim_start_matches('/'))
        }
    }

    /// A GET of `url` with `accept` and the run's token: what the engine fetches on its
    /// own (fixtures from the server, navigation links).
    pub fn get(&self, url: &str, accept: &str) -> Request {
        let mut headers = vec![("Accept".to_string(), accept.to_string())];
        if let Some(token) = &self.token {
            headers.push(("Authorization".into(), format!("Bearer {token}")));
        }
        Request {
            method: "GET".into(),
            url: url.to_string(),
            headers,
            body: None,
        }
    }
}
