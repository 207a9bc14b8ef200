//! One HTTP exchange as the engine keeps it: the request as sent and the response as
//! received, with the body read as FHIR JSON (XML bodies are converted, and kept as
//! written for XPath asserts).

use serde_json::Value;

/// A resource body in the forms asserts read: JSON always when it is a resource, and the
/// XML text when it came as XML (XPath asserts read the XML itself).
#[derive(Debug, Clone, Default)]
pub struct Body {
    pub json: Option<Value>,
    pub xml: Option<String>,
}

impl Body {
    pub fn json(value: Value) -> Self {
        Body {
            json: Some(value),
            xml: None,
        }
    }

    /// A body as received: XML when the media type says so (or it starts with `<`), JSON
    /// otherwise; text that is neither leaves both empty.
    pub fn received(content_type: Option<&str>, text: &str) -> Self {
        let trimmed = text.trim_start();
        let xml = content_type.is_some_and(|c| c.contains("xml")) || trimmed.starts_with('<');
        if xml && !trimmed.is_empty() {
            return Body {
                json: helsebro_profiles::format::xml_to_json(text).ok(),
                xml: Some(text.to_string()),
            };
        }
        Body {
            json: serde_json::from_str(text).ok(),
            xml: None,
        }
    }

    /// The resource type of the body, if it is a resource.
    pub fn resource_type(&self) -> Option<&str> {
        self.json.as_ref()?.get("resourceType")?.as_str()
    }
}

/// A request about to be sent.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Exchange {
    pub request: Request,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
    pub body: Body,
}

/// The values of header `name` (case-insensitive) in `headers`.
pub fn header_values<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

impl Exchange {
    pub fn response_header(&self, name: &str) -> Vec<&str> {
        header_values(&self.headers, name)
    }

    /// The response's media type without parameters, lower case.
    pub fn media_type(&self) -> Option<String> {
        media_type(self.response_header("content-type").first().copied())
    }
}

/// `application/fhir+xml; charset=utf-8` → `application/fhir+xml`.
pub fn media_type(content_type: Option<&str>) -> Option<String> {
    let c = content_type?.split(';').next()?.trim().to_ascii_lowercase();
    (!c.is_empty()).then_some(c)
}

/// Sends `request`; a transport failure (no response at all) is the error.
pub async fn send(client: &reqwest::Client, request: Request) -> Result<Exchange, String> {
    let method = reqwest::Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("'{}' is not an HTTP method", request.method))?;
    let url = reqwest::Url::parse(&request.url)
        .map_err(|e| format!("'{}' is not a URL: {e}", request.url))?;
    let mut builder = client.request(method, url);
    for (k, v) in &request.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    if let Some(body) = &request.body {
        builder = builder.body(body.clone());
    }
    let response = builder
        .send()
        .await
        .map_err(|e| format!("{} {}: no response ({e})", request.method, request.url))?;
    let status = response.status().as_u16();
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let text = response.text().await.map_err(|e| {
        format!(
            "{} {}: the body did not arrive ({e})",
            request.method, request.url
        )
    })?;
    let content_type = header_values(&headers, "content-type").first().copied();
    let body = Body::received(content_type, &text);
    Ok(Exchange {
        request,
        status,
        headers,
        text,
        body,
    })
}
