//! A scripted browser for the authorization code flow: it follows the server's redirects
//! one at a time, keeps cookies, and submits the sign-in, patient and consent forms the way
//! a user would, so tests can see every step.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{redirect, Client, Response};

pub struct Browser {
    http: Client,
    cookies: Vec<(String, String)>,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a redirect went, split into the URL before `?` and its query pairs.
pub struct Redirect {
    pub url: String,
    pub query: Vec<(String, String)>,
}

impl Redirect {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Browser {
    pub fn new() -> Self {
        Browser {
            http: Client::builder()
                .redirect(redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: Vec::new(),
        }
    }

    /// Forgets every cookie, as another browser would not have them.
    pub fn clear_cookies(&mut self) {
        self.cookies.clear();
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, r: &Response) {
        for v in r.headers().get_all(SET_COOKIE) {
            let pair = v
                .to_str()
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                self.cookies.retain(|(name, _)| name != k);
                self.cookies.push((k.to_string(), v.to_string()));
            }
        }
    }

    pub async fn get(&mut self, url: &str) -> Response {
        let r = self
            .http
            .get(url)
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .expect("GET");
        self.keep_cookies(&r);
        r
    }

    /// Submits a form of the server at `root` to `/auth/{page}`.
    pub async fn post_auth(&mut self, root: &str, page: &str, fields: &[(&str, &str)]) -> Response {
        self.post_form(&format!("{root}/auth/{page}"), fields).await
    }

    pub async fn post_form(&mut self, url: &str, fields: &[(&str, &str)]) -> Response {
        let body = form(fields);
        let r = self
            .http
            .post(url)
            .header(COOKIE, self.cookie_header())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("POST");
        self.keep_cookies(&r);
        r
    }
}

/// An `application/x-www-form-urlencoded` body.
pub fn form(fields: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The `Location` of a redirect response, asserting it is one (303 or 302).
pub fn redirect_of(r: &Response) -> Redirect {
    assert!(
        r.status().is_redirection(),
        "expected a redirect, got {}",
        r.status()
    );
    let location = r
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .expect("Location")
        .to_string();
    let (url, query) = location.split_once('?').unwrap_or((&location, ""));
    Redirect {
        url: url.to_string(),
        query: form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect(),
    }
}
