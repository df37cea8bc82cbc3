//! What the integration tests share: a fresh store per test on SQLite or PostgreSQL,
//! a demo configuration, and the real router with a few request helpers.

pub mod fault_proxy;
pub mod world;

use app::server::SESSION_COOKIE;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use engine::Engine;
use engine::config::Config;
use engine::model::Role;
use http_body_util::BodyExt;
use server::router::router;
use server::site::Site;
use server::state::AppState;
use sqlx::{Connection, Executor, PgConnection};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use tower::ServiceExt;

/// Which database a test's store lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// A fresh SQLite file.
    Sqlite,
    /// A fresh database in the PostgreSQL at `COUPLER_TEST_POSTGRES_URL`.
    Postgres,
}

/// Generates one test per store kind for each named scenario `async fn name(kind:
/// StoreKind)`: `sqlite::name` and `postgres::name`, each on the multi-threaded runtime
/// `coupler serve` runs on.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::support::StoreKind::Sqlite).await }
            )*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::support::StoreKind::Postgres).await }
            )*
        }
    };
}

/// Runs the queue until it is empty, as a worker would (schedules included); answers the
/// jobs it ran.
pub async fn drain(engine: &engine::Engine) -> Vec<engine::model::JobSummary> {
    let mut ran = Vec::new();
    while let Some(job) = engine.work_once().await.unwrap() {
        ran.push(job);
        assert!(ran.len() < 50, "the queue does not empty");
    }
    ran
}

/// A folder of its own under the system's temporary folder, empty.
pub fn temp_dir(label: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "coupler-{label}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a temporary folder");
    dir
}

/// The Python of the test tools' virtual environment (`make test` makes it, with
/// `aiosmtpd` and `odatapy`), or `COUPLER_TEST_PYTHON`.
pub fn python() -> PathBuf {
    if let Ok(python) = std::env::var("COUPLER_TEST_PYTHON") {
        return python.into();
    }
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/py/bin/python");
    assert!(
        python.exists(),
        "{} is missing: `make test` makes it (python3 -m venv target/py; \
         target/py/bin/pip install aiosmtpd odatapy), or set COUPLER_TEST_PYTHON",
        python.display()
    );
    python
}

/// The PostgreSQL the tests may create databases in.
pub fn postgres_admin_url() -> String {
    std::env::var("COUPLER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// A new, empty store database of `kind`; answers its URL.
pub async fn fresh_store_url(kind: StoreKind, dir: &Path) -> String {
    fresh_database(kind, dir, "store").await
}

/// A new, empty database of `kind` named after `dir` and `label`; answers its URL.
pub async fn fresh_database(kind: StoreKind, dir: &Path, label: &str) -> String {
    match kind {
        StoreKind::Sqlite => format!(
            "sqlite://{}?mode=rwc",
            dir.join(format!("{label}.db")).display()
        ),
        StoreKind::Postgres => {
            let admin = postgres_admin_url();
            let name = format!(
                "{}_{label}",
                dir.file_name()
                    .and_then(|n| n.to_str())
                    .expect("temporary folder name")
                    .replace('-', "_")
            );
            let mut connection = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is needed at {admin} (set COUPLER_TEST_POSTGRES_URL, or run `make test`, which starts one): {e}"
                )
            });
            connection
                .execute(format!(r#"drop database if exists "{name}""#).as_str())
                .await
                .expect("drop an old test database");
            connection
                .execute(format!(r#"create database "{name}""#).as_str())
                .await
                .expect("create the test database");
            let (base, _) = admin.rsplit_once('/').expect("a database in the URL");
            format!("{base}/{name}")
        }
    }
}

/// Starts `serve` (a `coupler … serve` command) with its standard output read here;
/// answers the process and the address it printed once it listens.
pub fn spawn_serve(serve: &mut std::process::Command) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = serve
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start coupler serve");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("its standard output"))
        .read_line(&mut line)
        .expect("read its first line");
    let address = line
        .trim()
        .strip_prefix("Coupler console: http://")
        .unwrap_or_else(|| panic!("the address line: {line:?}"))
        .to_string();
    (child, address)
}

/// The console's site as `coupler serve --site-root` serves it, from a test's folder.
pub fn site(dir: &Path) -> Site {
    Site::Folder(dir.to_path_buf())
}

/// The real router over a real store, with the demo's configuration.
pub struct TestApp {
    /// The router, as `coupler serve` builds it.
    pub router: Router,
    /// The engine behind it.
    pub engine: Engine,
    /// The test's folder: demo systems, configuration, SQLite store.
    pub dir: PathBuf,
    /// The cookie of a session of `admin`, sent by the request helpers.
    pub admin: String,
}

/// The password of every account the tests create.
pub const PASSWORD: &str = "a test password";

/// A response, read whole.
pub struct TestResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub body: String,
}

impl TestResponse {
    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// The router over `engine`, as `coupler serve` builds it, serving the site of the test
/// folder `dir`.
pub fn router_over(engine: &Engine, dir: &Path) -> Router {
    router(AppState::new(engine.clone(), site(dir)))
}

impl TestApp {
    /// A demo with a few customers and the router on a fresh store of `kind`.
    pub async fn spawn(kind: StoreKind) -> TestApp {
        TestApp::spawn_with(kind, 30).await
    }

    /// A demo with `customers` customers and the router on a fresh store of `kind`.
    pub async fn spawn_with(kind: StoreKind, customers: u64) -> TestApp {
        let dir = temp_dir(match kind {
            StoreKind::Sqlite => "app-sqlite",
            StoreKind::Postgres => "app-postgres",
        });
        let demo = engine::demo::create(&dir, customers)
            .await
            .expect("create the demo");
        let config = Config::load(&demo.config).expect("the demo configuration loads");
        let store_url = fresh_store_url(kind, &dir).await;
        let engine = Engine::open(config, &store_url)
            .await
            .expect("open the store");
        let router = router_over(&engine, &dir);
        let mut app = TestApp {
            router,
            engine,
            dir,
            admin: String::new(),
        };
        app.admin = app.account("admin", Role::Admin).await;
        app
    }

    /// Adds an account named `name` with `role`; answers the cookie of a session of it.
    pub async fn account(&self, name: &str, role: Role) -> String {
        self.engine
            .add_user("test", name, role, PASSWORD)
            .await
            .expect("add the account");
        self.session_of(name).await
    }

    /// Signs `name` in again; answers the new session's cookie.
    pub async fn session_of(&self, name: &str) -> String {
        let (token, _) = self
            .engine
            .sign_in(name, PASSWORD, "test")
            .await
            .expect("sign in");
        format!("{SESSION_COOKIE}={token}")
    }

    /// Sends `request` through the router.
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let asked = format!("{} {}", request.method(), request.uri());
        let response = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            self.router.clone().oneshot(request),
        )
        .await
        .unwrap_or_else(|_| panic!("the router did not answer {asked} within 30 s"))
        .expect("the router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("read the body")
            .to_bytes();
        TestResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// `GET path`, as an admin's browser asks for a page.
    pub async fn get(&self, path: &str) -> TestResponse {
        self.get_as(Some(&self.admin), path).await
    }

    /// `GET path` with a session's `cookie`, or none.
    pub async fn get_as(&self, cookie: Option<&str>, path: &str) -> TestResponse {
        let mut request = Request::get(path).header(header::ACCEPT, "text/html");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    /// Calls a server function the way the WebAssembly does, signed in as an admin: a
    /// form-encoded POST that asks for JSON.
    pub async fn call(&self, function: &str, form: &str) -> TestResponse {
        self.call_as(Some(&self.admin), function, form).await
    }

    /// Calls a server function with a session's `cookie`, or none.
    pub async fn call_as(&self, cookie: Option<&str>, function: &str, form: &str) -> TestResponse {
        let mut request = Request::post(format!("/api/{function}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::from(form.to_string())).unwrap())
            .await
    }

    /// Posts a form the way an admin's browser without JavaScript does, from page
    /// `referer`.
    pub async fn post_form(&self, function: &str, form: &str, referer: &str) -> TestResponse {
        self.send(
            Request::post(format!("/api/{function}"))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "text/html")
                .header(header::REFERER, referer)
                .header(header::COOKIE, &self.admin)
                .body(Body::from(form.to_string()))
                .unwrap(),
        )
        .await
    }
}
