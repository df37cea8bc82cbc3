//! A fault layer in front of a real HTTP service: a proxy on loopback that forwards every
//! request to it but those it is told to fault — refused (a status with `Retry-After`, as
//! a service's protection does), passed on with the answer lost, or answered slowly —
//! and that remembers when each request arrived and what became of it.

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
    /// Its query, percent-encoded as sent.
    pub query: String,
    /// The status answered.
    pub status: u16,
}

/// What becomes of the next request of a method.
#[derive(Clone, Debug)]
pub struct Fault {
    method: Method,
    /// Text the request's path and query must hold, if any.
    holding: Option<&'static str>,
    kind: FaultKind,
}

#[derive(Clone, Debug)]
enum FaultKind {
    /// Answered `status` (with `Retry-After`), never passed on.
    Refused {
        status: u16,
        retry_after: Option<&'static str>,
    },
    /// Passed on, and `status` answered instead of the service's answer.
    AnswerLost { status: u16 },
    /// Passed on after `delay`.
    Slow { delay: std::time::Duration },
}

impl Fault {
    /// The next `method` request refused with `status` and `Retry-After`, if given.
    pub fn refused(method: Method, status: u16, retry_after: Option<&'static str>) -> Fault {
        let kind = FaultKind::Refused {
            status,
            retry_after,
        };
        Fault {
            method,
            holding: None,
            kind,
        }
    }

    /// The same fault, only for a request whose path and query hold `text`.
    pub fn holding(self, text: &'static str) -> Fault {
        Fault {
            holding: Some(text),
            ..self
        }
    }

    /// The next `method` request reaches the service; its answer is lost (`status`).
    pub fn answer_lost(method: Method, status: u16) -> Fault {
        let kind = FaultKind::AnswerLost { status };
        Fault {
            method,
            holding: None,
            kind,
        }
    }

    /// The next `method` request reaches the service after `delay`.
    pub fn slow(method: Method, delay: std::time::Duration) -> Fault {
        let kind = FaultKind::Slow { delay };
        Fault {
            method,
            holding: None,
            kind,
        }
    }
}

#[derive(Default)]
struct Faults {
    waiting: Vec<Fault>,
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

    /// Faults the next request of the fault's method (after those queued).
    pub fn inject(&self, fault: Fault) {
        self.faults.lock().unwrap().waiting.push(fault);
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
    let query = uri.query().unwrap_or_default().to_string();
    let fault = {
        let mut faults = upstream.faults.lock().unwrap();
        let asked = uri.path_and_query().map_or("", |p| p.as_str());
        let found = faults
            .waiting
            .iter()
            .position(|f| f.method == method && f.holding.is_none_or(|text| asked.contains(text)));
        found.map(|i| faults.waiting.remove(i).kind)
    };
    let (status, response) = match fault {
        Some(FaultKind::Refused {
            status,
            retry_after,
        }) => refused(status, retry_after),
        Some(FaultKind::AnswerLost { status }) => {
            pass_on(&upstream, method, &uri, &headers, body).await;
            refused(status, None)
        }
        Some(FaultKind::Slow { delay }) => {
            tokio::time::sleep(delay).await;
            pass_on(&upstream, method, &uri, &headers, body).await
        }
        None => pass_on(&upstream, method, &uri, &headers, body).await,
    };
    upstream.faults.lock().unwrap().seen.push(Seen {
        at,
        request,
        query,
        status,
    });
    response
}

/// The answer of a refusal, as a service's protection words it.
fn refused(code: u16, retry_after: Option<&'static str>) -> (u16, Response) {
    let status = StatusCode::from_u16(code).unwrap();
    let mut response = (
        status,
        [("Content-Type", "application/json")],
        r#"{"error":{"code":"0x80072322","message":"Number of requests exceeded the limit."}}"#,
    )
        .into_response();
    if let Some(after) = retry_after {
        response
            .headers_mut()
            .insert("Retry-After", after.parse().unwrap());
    }
    (code, response)
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
    // The proxy's own host goes on, so that the links the service writes (next pages,
    // delta links) lead back through the proxy.
    for (name, value) in headers {
        if name != "content-length" {
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
