//! Accepting connections: each served as HTTP/1.1 by hyper with a time limit on reading
//! a request's head (a client that sends half a request, or waits on a kept-alive
//! connection, is closed after it), and at most so many connections from one address at
//! once, so that slow or many clients cannot hold the server's connections.

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

/// How connections are held.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The longest a client may take to send a request's head, counted from its first
    /// byte, or from the end of the last answer on a kept-alive connection.
    pub header_read: Duration,
    /// Connections one address may hold at once; more are closed as they arrive.
    pub per_address: usize,
}

/// The connections each address holds now.
type Holders = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// One connection counted for its address while it lasts.
struct Held {
    holders: Holders,
    address: IpAddr,
}

impl Held {
    fn take(holders: &Holders, address: IpAddr, most: usize) -> Option<Held> {
        let mut held = holders.lock().unwrap_or_else(|e| e.into_inner());
        let count = held.entry(address).or_insert(0);
        if *count >= most {
            return None;
        }
        *count += 1;
        Some(Held {
            holders: holders.clone(),
            address,
        })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut held = self.holders.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = held.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.address);
            }
        }
    }
}

/// Serves `app` on `listener` within `limits` until `stop` resolves; then stops
/// accepting and lets the connections under way finish their requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    stop: impl std::future::Future<Output = ()>,
) {
    let holders = Holders::default();
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, say: wait a moment rather than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let Some(held) = Held::take(&holders, peer.ip(), limits.per_address) else {
            tracing::debug!(address = %peer.ip(), "too many connections from one address");
            continue;
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move {
                use tower::ServiceExt;
                app.oneshot(request.map(axum::body::Body::new)).await
            }
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended");
            }
            drop(held);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_share_and_gets_it_back() {
        let holders = Holders::default();
        let here: IpAddr = [127, 0, 0, 1].into();
        let first = Held::take(&holders, here, 2).unwrap();
        let _second = Held::take(&holders, here, 2).unwrap();
        assert!(Held::take(&holders, here, 2).is_none());
        assert!(Held::take(&holders, [127, 0, 0, 2].into(), 2).is_some());
        drop(first);
        assert!(Held::take(&holders, here, 2).is_some());
    }
}
