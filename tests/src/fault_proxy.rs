//! A reverse proxy in front of a receiving server that can misbehave on command: be
//! down, answer with an error, hang, or pass a request on and then hold its answer (the
//! sender dies waiting). It counts what passes, so a test can tell how often a document
//! was sent.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Forward,
    /// Not listening: connections are refused.
    Down,
    /// Every API request gets this status and body.
    Fail(u16, String),
    /// No answer to API requests, ever.
    Hang,
    /// Requests matching the path part pass to the receiver, whose answer is then held
    /// back forever; others pass normally.
    ForwardThenHang(String),
}

/// A request that reached the proxy.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub body: Bytes,
    /// Whether it was passed on to the receiver.
    pub forwarded: bool,
}

#[derive(Clone)]
struct Shared {
    target: Arc<Mutex<String>>,
    mode: Arc<Mutex<Mode>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    http: reqwest::Client,
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    shared: Shared,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl FaultProxy {
    /// Listens on an ephemeral port; requests fail until `target` is set.
    pub async fn bind() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Shared {
            target: Arc::new(Mutex::new(String::new())),
            mode: Arc::new(Mutex::new(Mode::Forward)),
            seen: Arc::new(Mutex::new(Vec::new())),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("proxy client"),
        };
        let mut proxy = Self {
            addr,
            shared,
            server: None,
        };
        proxy.serve(listener);
        proxy
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Where requests go, e.g. the receiver's root.
    pub fn target(&self, root: &str) {
        *self.shared.target.lock().expect("lock") = root.trim_end_matches('/').to_string();
    }

    pub async fn set_mode(&mut self, mode: Mode) {
        let was_down = *self.shared.mode.lock().expect("lock") == Mode::Down;
        *self.shared.mode.lock().expect("lock") = mode.clone();
        match (was_down, mode == Mode::Down) {
            (false, true) => {
                if let Some(server) = self.server.take() {
                    server.abort();
                    let _ = server.await;
                }
            }
            (true, false) => {
                // The port is ours again once the old listener is gone.
                let mut tries = 0;
                let listener = loop {
                    match tokio::net::TcpListener::bind(self.addr).await {
                        Ok(l) => break l,
                        Err(e) if tries < 50 => {
                            tries += 1;
                            let _ = e;
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        Err(e) => panic!("proxy cannot listen again: {e}"),
                    }
                };
                self.serve(listener);
            }
            _ => {}
        }
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let app = Router::new()
            .fallback(handle)
            .with_state(self.shared.clone());
        self.server = Some(tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().expect("lock").clone()
    }

    /// The POSTs whose path ends with `suffix` that were passed on.
    pub fn forwarded_posts(&self, suffix: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.forwarded && s.method == "POST" && s.path.ends_with(suffix))
            .collect()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

async fn handle(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut mode = shared.mode.lock().expect("lock").clone();
    let path = uri.path().to_string();
    // Errors and silence are the receiving API's; its authorization server (a separate
    // service in production, HelseID) keeps answering. Only `Down` takes both away.
    if path.starts_with("/auth/") && matches!(mode, Mode::Fail(..) | Mode::Hang) {
        mode = Mode::Forward;
    }
    let hang_after = match &mode {
        Mode::ForwardThenHang(part) => path.contains(part.as_str()),
        _ => false,
    };
    let forwarded = matches!(mode, Mode::Forward | Mode::ForwardThenHang(_));
    shared.seen.lock().expect("lock").push(Seen {
        method: method.to_string(),
        path: path.clone(),
        body: body.clone(),
        forwarded,
    });
    match mode {
        // A connection kept alive from before the listener closed.
        Mode::Down => return StatusCode::BAD_GATEWAY.into_response(),
        Mode::Fail(status, body) => {
            return (
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                [("content-type", "application/fhir+json")],
                body,
            )
                .into_response()
        }
        Mode::Hang => return std::future::pending::<Response>().await,
        Mode::Forward | Mode::ForwardThenHang(_) => {}
    }
    let target = shared.target.lock().expect("lock").clone();
    let url = format!(
        "{target}{}",
        uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut request = shared.http.request(method, &url).body(body);
    for (name, value) in &headers {
        if !matches!(name.as_str(), "host" | "content-length" | "connection") {
            request = request.header(name, value);
        }
    }
    let answer = match request.send().await {
        Ok(a) => a,
        Err(_) => return StatusCode::BAD_GATEWAY.into_response(),
    };
    let status = answer.status();
    let answer_headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap_or_default();
    if hang_after {
        std::future::pending::<()>().await;
    }
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in &answer_headers {
        if !matches!(
            name.as_str(),
            "content-length" | "connection" | "transfer-encoding"
        ) {
            response.headers_mut().append(name, value.clone());
        }
    }
    response
}
