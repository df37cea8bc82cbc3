//! A soak of a real `coupler serve`: fifty signed-in clients reading pages and calling
//! actions for a minute while its workers run jobs and the demo systems change, on each
//! store, one store after the other. Every request must be answered, none after more than five seconds: a request
//! that waits on the server for ever (a hang) fails it.

use crate::support::{PASSWORD, StoreKind, fresh_store_url, spawn_serve, temp_dir};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// A soak measures the server, not other tests sharing its two cores: it is ignored by a
// plain `cargo test`, and the test command runs it alone afterwards (`cargo test -p server
// --test integration -- --ignored --test-threads 1 --nocapture soak::`).
mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a soak: run alone, after the other tests (see above)"]
    async fn fifty_clients_reading_and_acting_for_a_minute_are_all_answered() {
        super::fifty_clients_reading_and_acting_for_a_minute_are_all_answered(
            crate::support::StoreKind::Sqlite,
        )
        .await
    }
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a soak: run alone, after the other tests (see above)"]
    async fn fifty_clients_reading_and_acting_for_a_minute_are_all_answered() {
        super::fifty_clients_reading_and_acting_for_a_minute_are_all_answered(
            crate::support::StoreKind::Postgres,
        )
        .await
    }
}

/// How long the clients keep at it (`COUPLER_SOAK_SECONDS`, 60 by default).
fn soak_seconds() -> u64 {
    std::env::var("COUPLER_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60)
}

const CLIENTS: usize = 50;

/// The requests each client makes in turn, by their index.
const KINDS: [&str; 8] = [
    "/",
    "/errors",
    "/jobs",
    "/mappings/CUSTOMER",
    "list_sync_errors",
    "get_mapping_counts",
    "run_mapping",
    "retry_all",
];

/// What a request may take before it counts as not answered.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

fn coupler(dir: &std::path::Path, store_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_coupler"));
    command
        .env_remove("COUPLER_CONFIG")
        .env_remove("COUPLER_ADDR")
        .env("RUST_LOG", "warn")
        .arg("--config")
        .arg(dir.join("coupler.toml"))
        .args(["--database-url", store_url]);
    command
}

/// One HTTP/1.1 exchange on a new connection: the status and the whole answer.
async fn exchange(address: &str, request: String) -> std::io::Result<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, answer))
}

fn get(address: &str, cookie: &str, path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAccept: text/html\r\nCookie: {cookie}\r\n\
         Connection: close\r\n\r\n"
    )
}

fn post(address: &str, cookie: &str, function: &str, body: &str) -> String {
    format!(
        "POST /api/{function} HTTP/1.1\r\nHost: {address}\r\nAccept: application/json\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Cookie: {cookie}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

async fn fifty_clients_reading_and_acting_for_a_minute_are_all_answered(kind: StoreKind) {
    let dir = temp_dir(match kind {
        StoreKind::Sqlite => "soak-sqlite",
        StoreKind::Postgres => "soak-postgres",
    });
    let store_url = fresh_store_url(kind, &dir).await;
    let demo = Command::new(env!("CARGO_BIN_EXE_coupler"))
        .args(["demo", "--customers", "300", "--dir"])
        .arg(&dir)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let added = coupler(&dir, &store_url)
        .args(["user", "add", "soak", "--role", "operator"])
        .env("COUPLER_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let log = dir.join("serve.log");
    let (mut child, address) = spawn_serve(
        coupler(&dir, &store_url)
            .args(["serve", "--addr", "127.0.0.1:0", "--workers", "2"])
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap())),
    );

    // Signed in once per client, one after another (each sign-in hashes a password).
    let mut cookies = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let body = format!("name=soak&password={}", PASSWORD.replace(' ', "+"));
        let (status, answer) = exchange(&address, post(&address, "", "sign_in", &body))
            .await
            .unwrap();
        assert_eq!(status, 200, "{answer}");
        let cookie = answer
            .lines()
            .find_map(|l| l.strip_prefix("set-cookie: "))
            .and_then(|c| c.split(';').next())
            .unwrap_or_else(|| panic!("a session cookie: {answer}"))
            .to_string();
        cookies.push(cookie);
    }

    // The demo systems change meanwhile, so that the workers' jobs have work to do.
    let until = Instant::now() + Duration::from_secs(soak_seconds());
    let changes = {
        let dir = dir.clone();
        tokio::spawn(async move {
            let mut seed = 1;
            while Instant::now() < until {
                engine::demo::simulate_dir(&dir, seed).await.unwrap();
                seed += 1;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            seed - 1
        })
    };
    let mut clients = tokio::task::JoinSet::new();
    for (n, cookie) in cookies.into_iter().enumerate() {
        let address = address.clone();
        clients.spawn(async move {
            let mut times = Vec::new();
            let mut unanswered = Vec::new();
            let mut i = n;
            while Instant::now() < until {
                let kind = i % 8;
                let request = match kind {
                    0 => get(&address, &cookie, "/"),
                    1 => get(&address, &cookie, "/errors"),
                    2 => get(&address, &cookie, "/jobs"),
                    3 => get(&address, &cookie, "/mappings/CUSTOMER"),
                    4 => post(&address, &cookie, "list_sync_errors", "limit=50"),
                    5 => post(&address, &cookie, "get_mapping_counts", ""),
                    6 => post(
                        &address,
                        &cookie,
                        "run_mapping",
                        "name=CUSTOMER&job=synchronize",
                    ),
                    _ => post(
                        &address,
                        &cookie,
                        "act_on_sync_errors",
                        &format!("action=retry_all&all=matching&view=soak-{n}-{i}"),
                    ),
                };
                i += 1;
                let asked = request.lines().next().unwrap_or_default().to_string();
                let started = Instant::now();
                match tokio::time::timeout(ANSWER_WITHIN, exchange(&address, request)).await {
                    // A refusal the console would show (a job queued already, a stale
                    // view) is an answer; a server error or no answer is not.
                    Ok(Ok((status, _))) if (200..500).contains(&status) => {
                        times.push((kind, started.elapsed().as_secs_f64() * 1000.0));
                    }
                    Ok(Ok((status, answer))) => {
                        unanswered.push(format!("{asked}: {status}: {answer}"))
                    }
                    Ok(Err(error)) => unanswered.push(format!("{asked}: no connection: {error}")),
                    Err(_) => {
                        unanswered.push(format!("{asked}: no answer within {ANSWER_WITHIN:?}"))
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (times, unanswered)
        });
    }
    let (mut times, mut unanswered) = (Vec::new(), Vec::new());
    while let Some(client) = clients.join_next().await {
        let (t, u) = client.unwrap();
        times.extend(t);
        unanswered.extend(u);
    }
    let simulations = changes.await.unwrap();
    let jobs = coupler(&dir, &store_url)
        .args(["jobs", "--json"])
        .output()
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();

    let p99_of = |times: &mut Vec<f64>| {
        times.sort_by(f64::total_cmp);
        times
            .get((times.len() * 99 / 100).min(times.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let by_kind: Vec<String> = (0..8)
        .map(|kind| {
            let mut of: Vec<f64> = times
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, t)| *t)
                .collect();
            format!("{}: p99 {:.0} ms", KINDS[kind], p99_of(&mut of))
        })
        .collect();
    let mut times: Vec<f64> = times.into_iter().map(|(_, t)| t).collect();
    eprintln!("soak on {kind:?} by request: {}", by_kind.join(", "));
    times.sort_by(f64::total_cmp);
    let p99 = times
        .get((times.len() * 99 / 100).min(times.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default();
    eprintln!(
        "soak on {kind:?}: {} requests answered, p99 {p99:.1} ms, slowest {:.1} ms; {simulations} rounds of changes",
        times.len(),
        times.last().copied().unwrap_or_default()
    );
    let errors: Vec<String> = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("ERROR"))
        .take(5)
        .map(str::to_string)
        .collect();
    assert!(
        unanswered.is_empty(),
        "{} not answered: {:?}; the server logged: {errors:?}",
        unanswered.len(),
        &unanswered[..unanswered.len().min(8)]
    );
    assert!(times.len() > CLIENTS * 10, "{} requests", times.len());
    let jobs = String::from_utf8_lossy(&jobs.stdout);
    assert!(
        jobs.contains("\"succeeded\""),
        "the workers ran jobs meanwhile: {jobs}"
    );
}
