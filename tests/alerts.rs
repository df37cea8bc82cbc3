//! Alerts: each rule fires once when it starts holding and once when it stops, never in
//! between; firings reach a real webhook receiver on loopback (signed, retried after a
//! refusal) and a real SMTP server (Python's `aiosmtpd`), and the Alerts page lists them.

use crate::on_both_stores;
use crate::support::world::World;
use crate::support::{StoreKind, TestApp, python, router_over, spawn_serve, temp_dir};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use engine::model::{Action, AlertFiring, DeliveryStatus, FiringState, Role, Selection};
use hmac::{Hmac, Mac};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

on_both_stores!(
    each_rule_fires_when_it_starts_holding_and_clears_when_it_stops,
    a_refused_delivery_is_tried_again_and_a_dead_receiver_is_given_up,
    the_alerts_page_lists_the_rules_and_their_firings,
);

/// A webhook receiver on loopback: keeps every request, and refuses the first `refuse`
/// with 500.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    refuse: Arc<Mutex<u32>>,
}

impl Receiver {
    /// Listens on a free loopback port; answers the receiver and its URL.
    async fn start(refuse: u32) -> (Receiver, String) {
        let receiver = Receiver::default();
        *receiver.refuse.lock().unwrap() = refuse;
        let app = axum::Router::new()
            .route("/hooks/coupler", axum::routing::post(receive))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/coupler", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    /// The bodies received, as JSON.
    fn bodies(&self) -> Vec<serde_json::Value> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|(_, body)| serde_json::from_slice(body).expect("a JSON body"))
            .collect()
    }
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    receiver.got.lock().unwrap().push((headers, body));
    let mut refuse = receiver.refuse.lock().unwrap();
    if *refuse > 0 {
        *refuse -= 1;
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

/// Whether `headers` carry the HMAC-SHA256 of `body` under `secret`, as
/// `X-Coupler-Signature: sha256=HEX`.
fn signed(headers: &HeaderMap, body: &[u8], secret: &str) -> bool {
    let Some(given) = headers
        .get("x-coupler-signature")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("sha256="))
    else {
        return false;
    };
    let Some(given) = (0..given.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(given.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// The demo's configuration with `alerts` appended.
fn with_alerts(alerts: String) -> impl FnOnce(String) -> String {
    move |config| format!("{config}\n{alerts}")
}

/// Checks the rules and answers the firings this check recorded, oldest first.
async fn check(w: &World) -> Vec<AlertFiring> {
    let before = w.engine.alerts_view().await.unwrap().firings.len();
    w.engine.check_alerts().await.unwrap();
    let mut firings = w.engine.alerts_view().await.unwrap().firings;
    firings.truncate(firings.len() - before);
    firings.reverse();
    firings
}

/// `(rule, mapping, state)` of each firing.
fn told(firings: &[AlertFiring]) -> Vec<(&str, &str, FiringState)> {
    firings
        .iter()
        .map(|f| (f.rule.as_str(), f.mapping.as_str(), f.state))
        .collect()
}

const LONG: &str = "a name far longer than the hundred and sixty characters the CRM keeps for the \
                    name of an account, written out in full so that the CRM refuses it every time";

async fn each_rule_fires_when_it_starts_holding_and_clears_when_it_stops(kind: StoreKind) {
    let (receiver, url) = Receiver::start(0).await;
    let w = World::new(
        kind,
        4,
        with_alerts(format!(
            r#"
[alerts]
console_url = "https://coupler.example/"

[[alert]]
name = "open"
when = "open_errors"
mapping = "CUSTOMER"
above = 1
webhook = {{ url = "{url}" }}

[[alert]]
name = "burst"
when = "new_errors"
mapping = "CUSTOMER"
above = 2
within = "15m"
webhook = {{ url = "{url}" }}

[[alert]]
name = "failing"
when = "job_failing"
mapping = "CUSTOMER"
times = 2
webhook = {{ url = "{url}" }}

[[alert]]
name = "paused"
when = "paused"
webhook = {{ url = "{url}" }}
"#
        )),
    )
    .await;
    w.sync("CUSTOMER").await;
    assert_eq!(told(&check(&w).await), [], "nothing holds");

    // Two customers the CRM refuses: more than one open error.
    let long = LONG.repeat(2);
    w.erp(&format!(
        "update customer set name = '{long}', modified_at = modified_at + 1000 \
         where no in ('C000001', 'C000002')"
    ))
    .await;
    w.sync("CUSTOMER").await;
    let fired = check(&w).await;
    assert_eq!(
        told(&fired),
        [("open", "CUSTOMER", FiringState::Firing)],
        "{fired:?}"
    );
    assert_eq!(fired[0].when, "open_errors");
    assert!(fired[0].message.contains("2 open errors"), "{fired:?}");
    assert_eq!(
        fired[0].link,
        "https://coupler.example/errors?mapping=CUSTOMER"
    );
    let figures: serde_json::Value = serde_json::from_str(&fired[0].figures).unwrap();
    assert_eq!(figures["open_errors"], 2);
    assert_eq!(figures["above"], 1);
    assert_eq!(
        told(&check(&w).await),
        [],
        "it fires once, not at every check"
    );

    // A third: more than two new errors within the window.
    w.erp(&format!(
        "update customer set name = '{long}', modified_at = modified_at + 1000 where no = 'C000003'"
    ))
    .await;
    w.sync("CUSTOMER").await;
    assert_eq!(
        told(&check(&w).await),
        [("burst", "CUSTOMER", FiringState::Firing)]
    );

    // The paused rule watches every mapping, each on its own.
    w.engine
        .set_mapping_paused("alice", "CONTACT", true)
        .await
        .unwrap();
    let paused = check(&w).await;
    assert_eq!(told(&paused), [("paused", "CONTACT", FiringState::Firing)]);
    assert!(paused[0].message.contains("alice"), "{paused:?}");
    assert_eq!(paused[0].link, "https://coupler.example/mappings/CONTACT");
    w.engine
        .set_mapping_paused("alice", "CONTACT", false)
        .await
        .unwrap();
    assert_eq!(
        told(&check(&w).await),
        [("paused", "CONTACT", FiringState::Cleared)]
    );

    // The CRM's table goes away: two failed runs in a row.
    w.crm("alter table account rename to account_gone").await;
    w.run("CUSTOMER").await;
    assert_eq!(told(&check(&w).await), [], "one failed run is not two");
    w.run("CUSTOMER").await;
    let failing = check(&w).await;
    assert_eq!(
        told(&failing),
        [("failing", "CUSTOMER", FiringState::Firing)]
    );
    assert!(failing[0].message.contains("2 runs failed"), "{failing:?}");
    w.crm("alter table account_gone rename to account").await;

    // Fixed: the names fit, the failed records are retried and the run succeeds; both
    // rules stop holding.
    w.erp(
        "update customer set name = 'Short', modified_at = modified_at + 1000 \
         where no in ('C000001', 'C000002', 'C000003')",
    )
    .await;
    let errors = w.errors("CUSTOMER").await;
    w.engine
        .act_on_errors(
            "alice",
            "alerts-retry",
            &Action::Retry,
            &Selection::Errors(World::seen(&errors)),
        )
        .await
        .unwrap();
    w.sync("CUSTOMER").await;
    assert_eq!(w.errors("CUSTOMER").await.len(), 0);
    let cleared = check(&w).await;
    assert_eq!(
        told(&cleared),
        [
            ("open", "CUSTOMER", FiringState::Cleared),
            ("failing", "CUSTOMER", FiringState::Cleared),
        ],
        "the burst still holds: its errors were first found within the window"
    );
    assert!(cleared[0].message.contains("0 open errors"), "{cleared:?}");

    // Every firing reaches the webhook once, in order, with what it said.
    assert_eq!(w.engine.deliver_alerts().await.unwrap(), 7);
    let bodies = receiver.bodies();
    let got: Vec<(String, String)> = bodies
        .iter()
        .map(|b| {
            (
                b["rule"].as_str().unwrap().to_string(),
                b["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        ("open", "firing"),
        ("burst", "firing"),
        ("paused", "firing"),
        ("paused", "cleared"),
        ("failing", "firing"),
        ("open", "cleared"),
        ("failing", "cleared"),
    ];
    assert_eq!(
        got,
        want.map(|(r, s)| (r.to_string(), s.to_string())),
        "{bodies:?}"
    );
    assert_eq!(bodies[0]["mapping"], "CUSTOMER");
    assert_eq!(bodies[0]["figures"]["open_errors"], 2);
    assert_eq!(
        bodies[0]["link"],
        "https://coupler.example/errors?mapping=CUSTOMER"
    );
    assert_eq!(w.engine.deliver_alerts().await.unwrap(), 0, "each once");
}

async fn a_refused_delivery_is_tried_again_and_a_dead_receiver_is_given_up(kind: StoreKind) {
    // The receiver refuses the first attempt; a second webhook has nobody listening.
    let (receiver, url) = Receiver::start(1).await;
    let nobody = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        format!("http://{address}/token/abc123")
    };
    let w = World::new(
        kind,
        2,
        with_alerts(format!(
            r#"
[[alert]]
name = "open"
when = "open_errors"
above = 0
mapping = "CUSTOMER"
webhook = {{ url = "{url}" }}

[[alert]]
name = "nobody"
when = "open_errors"
above = 0
mapping = "CUSTOMER"
webhook = {{ url = "{nobody}" }}
"#
        )),
    )
    .await;
    w.sync("CUSTOMER").await;
    w.erp(&format!(
        "update customer set name = '{}', modified_at = modified_at + 1000 where no = 'C000001'",
        LONG.repeat(2)
    ))
    .await;
    w.sync("CUSTOMER").await;
    assert_eq!(check(&w).await.len(), 2);

    assert_eq!(w.engine.deliver_alerts().await.unwrap(), 2);
    let view = w.engine.alerts_view().await.unwrap();
    for firing in &view.firings {
        let delivery = &firing.deliveries[0];
        assert_eq!(delivery.status, DeliveryStatus::Pending, "{firing:?}");
        assert_eq!(delivery.attempts, 1);
        let error = delivery.last_error.as_deref().unwrap_or_default();
        if firing.rule == "open" {
            assert!(error.contains("500"), "{error}");
        } else {
            assert!(!error.is_empty());
            assert!(
                !error.contains("abc123"),
                "the webhook's path stays out of the error: {error}"
            );
            assert!(!delivery.destination.contains("abc123"), "{delivery:?}");
        }
    }
    // Not due again yet: nothing is sent before the back-off.
    assert_eq!(w.engine.deliver_alerts().await.unwrap(), 0);
    assert_eq!(receiver.got.lock().unwrap().len(), 1);

    // Each failure waits twice as long as the one before, from two seconds; the dead
    // receiver is given up after its last attempt. Waiting is simulated by making the
    // deliveries due now.
    let mut conn = w.engine.store().conn().await.unwrap();
    for _ in 1..engine::alerts::deliver::MAX_ATTEMPTS {
        sqlx::query("update alert_delivery set next_at = 0 where status = 'pending'")
            .execute(&mut *conn)
            .await
            .unwrap();
        w.engine.deliver_alerts().await.unwrap();
    }
    drop(conn);
    let view = w.engine.alerts_view().await.unwrap();
    let of = |rule: &str| {
        view.firings
            .iter()
            .find(|f| f.rule == rule)
            .map(|f| f.deliveries[0].clone())
            .unwrap()
    };
    let sent = of("open");
    assert_eq!(sent.status, DeliveryStatus::Sent, "{sent:?}");
    assert_eq!(sent.attempts, 2, "sent on its second attempt");
    assert!(sent.sent_at.is_some());
    let given_up = of("nobody");
    assert_eq!(given_up.status, DeliveryStatus::Failed, "{given_up:?}");
    assert_eq!(given_up.attempts, engine::alerts::deliver::MAX_ATTEMPTS);
    assert_eq!(
        receiver.got.lock().unwrap().len(),
        2,
        "the refused attempt and the one that was answered"
    );
}

async fn the_alerts_page_lists_the_rules_and_their_firings(kind: StoreKind) {
    let (_receiver, url) = Receiver::start(0).await;
    let w = World::new(
        kind,
        2,
        with_alerts(format!(
            r#"
[[alert]]
name = "schedule paused"
when = "paused"
webhook = {{ url = "{url}" }}
"#
        )),
    )
    .await;
    let mut app = TestApp {
        router: router_over(&w.engine, &w.dir),
        engine: w.engine.clone(),
        dir: w.dir.clone(),
        admin: String::new(),
    };
    app.admin = app.account("admin", Role::Admin).await;
    let empty = app.get("/alerts").await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.body);
    assert!(empty.body.contains("<title>Alerts · Coupler</title>"));
    assert!(empty.body.contains("No alert has fired."), "{}", empty.body);

    w.engine
        .set_mapping_paused("alice", "ITEM-PRODUCT", true)
        .await
        .unwrap();
    w.engine.check_alerts().await.unwrap();
    w.engine.deliver_alerts().await.unwrap();
    let page = app.get("/alerts").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let shown = |text: &str| {
        assert!(
            page.body.contains(text),
            "the page shows {text:?}: {}",
            page.body
        );
    };
    shown("schedule paused");
    shown("the schedule is paused");
    shown("every mapping");
    shown(&format!(
        "webhook {}",
        url.trim_end_matches("/hooks/coupler")
    ));
    shown("ITEM-PRODUCT: paused by alice");
    shown(": sent ");
    assert!(
        !page.body.contains("/hooks/coupler"),
        "the webhook's path is not shown"
    );

    let view = app.call("list_alerts", "").await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.body);
    let view = view.json();
    assert_eq!(
        view["rules"][0]["holding"],
        serde_json::json!(["ITEM-PRODUCT"])
    );
    assert_eq!(view["firings"][0]["state"], "firing");
    assert_eq!(view["firings"][0]["deliveries"][0]["status"], "sent");
}

/// A real SMTP server on a free loopback port, keeping what it receives in a maildir.
struct SmtpServer {
    child: std::process::Child,
    port: u16,
    maildir: PathBuf,
}

impl SmtpServer {
    fn start(dir: &Path) -> SmtpServer {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let maildir = dir.join("maildir");
        let child = std::process::Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .spawn()
            .expect("start aiosmtpd");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "aiosmtpd did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        SmtpServer {
            child,
            port,
            maildir,
        }
    }

    /// Every message received, whole.
    fn messages(&self) -> Vec<String> {
        let Ok(files) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        files
            .filter_map(|f| std::fs::read_to_string(f.ok()?.path()).ok())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits up to 30 s for `done`.
async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{what} within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `coupler serve` with alerts on: a signed webhook (whose receiver refuses once) and
/// e-mail through a real SMTP server, the secret from the environment only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coupler_serve_sends_signed_webhooks_and_email() {
    const SECRET: &str = "a webhook secret for this test";
    let dir = temp_dir("alerts-serve");
    let smtp = SmtpServer::start(&dir);
    let (receiver, url) = Receiver::start(1).await;
    let demo = engine::demo::create(&dir, 5).await.unwrap();
    let config = std::fs::read_to_string(&demo.config).unwrap();
    std::fs::write(
        &demo.config,
        format!(
            r#"{config}
[alerts]
every = "1s"
console_url = "http://coupler.test"

[alerts.smtp]
host = "127.0.0.1"
port = {port}
tls = "none"
from = "coupler@coupler.test"

[[alert]]
name = "customer errors"
when = "open_errors"
mapping = "CUSTOMER"
above = 0
webhook = {{ url = "{url}", secret_env = "COUPLER_TEST_HOOK_SECRET" }}
email = ["ops@coupler.test"]
"#,
            port = smtp.port
        ),
    )
    .unwrap();
    let coupler = env!("CARGO_BIN_EXE_coupler");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(coupler)
            .arg("--config")
            .arg(&demo.config)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
    };
    let added = std::process::Command::new(coupler)
        .arg("--config")
        .arg(&demo.config)
        .args(["user", "add", "admin", "--role", "admin"])
        .env("COUPLER_PASSWORD", crate::support::PASSWORD)
        .output()
        .unwrap();
    assert!(added.status.success(), "{added:?}");
    run(&["sync"]);
    let erp = sqlx::AnyPool::connect(&format!("sqlite://{}", dir.join("erp.db").display()))
        .await
        .unwrap();
    sqlx::query(&format!(
        "update customer set name = '{}', modified_at = modified_at + 1000 where no = 'C000001'",
        LONG.repeat(2)
    ))
    .execute(&erp)
    .await
    .unwrap();
    run(&["sync"]);

    let (mut child, _) = spawn_serve(
        std::process::Command::new(coupler)
            .arg("--config")
            .arg(&demo.config)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .env("COUPLER_TEST_HOOK_SECRET", SECRET),
    );
    until("the webhook is answered after one refusal", async || {
        receiver.got.lock().unwrap().len() >= 2
    })
    .await;
    until("the e-mail arrives", async || !smtp.messages().is_empty()).await;
    // The server records a delivery after its receiver answers: wait for the store to
    // say so before stopping the server.
    let config = engine::config::Config::load(&demo.config).unwrap();
    let store_url = config.store_url.clone().unwrap();
    let engine = engine::Engine::open(config, &store_url).await.unwrap();
    until("the store records every delivery", async || {
        let view = engine.alerts_view().await.unwrap();
        view.firings.first().is_some_and(|firing| {
            firing
                .deliveries
                .iter()
                .all(|d| d.status != DeliveryStatus::Pending)
        })
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();

    let got = receiver.got.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "one refused attempt and one retry, no more");
    for (headers, body) in &got {
        assert!(signed(headers, body, SECRET), "signed with the secret");
        assert!(!signed(headers, body, "another secret"));
        assert!(!String::from_utf8_lossy(body).contains(SECRET));
    }
    assert_eq!(got[0].1, got[1].1, "the retry sends the same body");
    let body: serde_json::Value = serde_json::from_slice(&got[1].1).unwrap();
    assert_eq!(body["rule"], "customer errors");
    assert_eq!(body["mapping"], "CUSTOMER");
    assert_eq!(body["state"], "firing");
    assert_eq!(body["figures"]["open_errors"], 1);
    assert_eq!(body["link"], "http://coupler.test/errors?mapping=CUSTOMER");

    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let mail = &messages[0];
    assert!(mail.contains("To: ops@coupler.test"), "{mail}");
    assert!(mail.contains("From: coupler@coupler.test"), "{mail}");
    assert!(
        mail.contains("Subject: [Coupler] firing: CUSTOMER (customer errors)"),
        "{mail}"
    );
    assert!(mail.contains("1 open errors"), "{mail}");
    assert!(
        mail.contains("http://coupler.test/errors?mapping=CUSTOMER"),
        "{mail}"
    );

    // The store says what was sent, and keeps no secret.
    let view = engine.alerts_view().await.unwrap();
    assert_eq!(view.rules[0].holding, ["CUSTOMER"]);
    let firing = &view.firings[0];
    let deliveries: Vec<(&str, DeliveryStatus, u32)> = firing
        .deliveries
        .iter()
        .map(|d| (d.channel.as_str(), d.status, d.attempts))
        .collect();
    assert_eq!(
        deliveries,
        [
            ("webhook", DeliveryStatus::Sent, 2),
            ("email", DeliveryStatus::Sent, 1)
        ]
    );
    for file in std::fs::read_dir(&dir).unwrap() {
        let path = file.unwrap().path();
        if path.to_string_lossy().contains("coupler.db") {
            let stored = std::fs::read(&path).unwrap();
            assert!(
                !String::from_utf8_lossy(&stored).contains(SECRET),
                "the secret is not in {}",
                path.display()
            );
        }
    }
}
