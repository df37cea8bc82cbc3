//! A fault layer in front of a real HTTP service: a proxy on loopback that forwards every
//! request to it, except those it is told to refuse (a status with `Retry-After`, as a
//! service's protection does), and that remembers when each request arrived and what
//! became of it.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// One request the proxy saw.
#[derive(Clone, Debug)]
pub struct Seen {
    /// When it arrived.
    pub at: Instant,
    /// Its method and path.
    pub request: String,
    /// The status answered.
    pub status: u16,
}

/// Refusals to answer, in order, for the requests that match.
#[derive(Clone, Debug)]
pub struct Refusal {
    /// The method of the requests it refuses.
    pub method: Method,
    /// The status answered (429, 503).
    pub status: u16,
    /// The `Retry-After` sent with it, if any.
    pub retry_after: Option<&'static str>,
    /// Whether the request reaches the service all the same, only its answer lost.
    pub after_forwarding: bool,
}

#[derive(Default)]
struct Faults {
    refusals: Vec<Refusal>,
    seen: Vec<Seen>,
}

/// The proxy, serving until the test ends.
#[derive(Clone)]
pub struct FaultProxy {
    /// Its root URL, ending in `/`.
    pub root: String,
    faults: Arc<Mutex<Faults>>,
}

#[derive(Clone)]
struct Upstream {
    root: String,
    http: reqwest::Client,
    faults: Arc<Mutex<Faults>>,
}

impl FaultProxy {
    /// A proxy forwarding to the service at `upstream` (a root URL ending in `/`).
    pub async fn start(upstream: &str) -> FaultProxy {
        let faults = Arc::new(Mutex::new(Faults::default()));
        let state = Upstream {
            root: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
            faults: faults.clone(),
        };
        let app = axum::Router::new().fallback(forward).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let root = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FaultProxy { root, faults }
    }

    /// Refuses the next request of `refusal.method` as it says (after those queued).
    pub fn refuse(&self, refusal: Refusal) {
        self.faults.lock().unwrap().refusals.push(refusal);
    }

    /// Every request seen so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.faults.lock().unwrap().seen.clone()
    }
}

async fn forward(
    State(upstream): State<Upstream>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let request = format!("{method} {}", uri.path());
    let refusal = {
        let mut faults = upstream.faults.lock().unwrap();
        let found = faults.refusals.iter().position(|r| r.method == method);
        found.map(|i| faults.refusals.remove(i))
    };
    let (status, response) = match refusal {
        Some(refusal) => {
            if refusal.after_forwarding {
                pass_on(&upstream, method, &uri, &headers, body).await;
            }
            refused(&refusal)
        }
        None => pass_on(&upstream, method, &uri, &headers, body).await,
    };
    upstream.faults.lock().unwrap().seen.push(Seen {
        at,
        request,
        status,
    });
    response
}

/// The answer of a refusal, as a service's protection words it.
fn refused(refusal: &Refusal) -> (u16, Response) {
    let status = StatusCode::from_u16(refusal.status).unwrap();
    let mut response = (
        status,
        [("Content-Type", "application/json")],
        r#"{"error":{"code":"0x80072322","message":"Number of requests exceeded the limit."}}"#,
    )
        .into_response();
    if let Some(after) = refusal.retry_after {
        response
            .headers_mut()
            .insert("Retry-After", after.parse().unwrap());
    }
    (refusal.status, response)
}

/// The request sent on to the service, and its answer.
async fn pass_on(
    upstream: &Upstream,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> (u16, Response) {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut sent = upstream
        .http
        .request(method, format!("{}{path}", upstream.root))
        .body(body);
    for (name, value) in headers {
        if name != "host" && name != "content-length" {
            sent = sent.header(name, value);
        }
    }
    let answer = sent.send().await.unwrap();
    let status = answer.status().as_u16();
    let mut response = Response::builder().status(status);
    for (name, value) in answer.headers() {
        if name != "content-length" && name != "transfer-encoding" {
            response = response.header(name, value);
        }
    }
    let bytes = answer.bytes().await.unwrap();
    (
        status,
        response.body(axum::body::Body::from(bytes)).unwrap(),
    )
}
