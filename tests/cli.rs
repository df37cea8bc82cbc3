//! The `coupler` binary as a user runs it: help on every command, a real server that
//! answers, and one clear line for each bad start-up input.

use crate::support::temp_dir;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn coupler() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_coupler"));
    for var in ["COUPLER_CONFIG", "COUPLER_DATABASE_URL", "COUPLER_ADDR"] {
        command.env_remove(var);
    }
    command.env("RUST_LOG", "warn");
    command
}

fn demo(dir: &Path) {
    let output = coupler()
        .args(["demo", "--customers", "20", "--dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `coupler serve` expecting it to refuse; answers its one line of standard error.
fn refused(output: Output) -> String {
    assert!(!output.status.success(), "coupler exited successfully");
    let stderr = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one line, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    lines[0].to_string()
}

fn serve(dir: &Path, extra: &[&str]) -> Output {
    coupler()
        .arg("--config")
        .arg(dir.join("coupler.toml"))
        .arg("serve")
        .args(["--addr", "127.0.0.1:0"])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn every_command_has_help() {
    for args in [&["--help"][..], &["serve", "--help"], &["demo", "--help"]] {
        let output = coupler().args(args).output().unwrap();
        assert!(output.status.success(), "coupler {args:?}");
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.contains("Usage: coupler"), "{text}");
    }
}

#[test]
fn serve_answers_health_and_pages_on_the_address_it_prints() {
    let dir = temp_dir("cli-serve");
    demo(&dir);
    let (mut child, address) = crate::support::spawn_serve(
        coupler()
            .arg("--config")
            .arg(dir.join("coupler.toml"))
            .args(["serve", "--addr", "127.0.0.1:0"])
            .stderr(Stdio::null()),
    );

    let health = http_get(&address, "/health");
    let page = http_get(&address, "/mappings");
    let login = http_get(&address, "/login?next=%2Fmappings");
    let metrics = http_get(&address, "/metrics");
    let port = address.rsplit_once(':').unwrap().1;
    let by_name = http_get_as(&address, &format!("localhost:{port}"), "/health");
    let rebound = http_get_as(&address, "attacker.example", "/metrics");
    let rebound_with_port = http_get_as(&address, &format!("attacker.example:{port}"), "/health");
    child.kill().unwrap();
    child.wait().unwrap();

    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(by_name.starts_with("HTTP/1.1 200"), "{by_name}");
    for refused in [rebound, rebound_with_port] {
        assert!(
            refused.starts_with("HTTP/1.1 421"),
            "a name pointed at this machine by someone else is refused: {refused}"
        );
    }
    assert!(
        page.starts_with("HTTP/1.1 303"),
        "pages need a session: {page}"
    );
    assert!(page.contains("location: /login?next=%2Fmappings"), "{page}");
    assert!(login.starts_with("HTTP/1.1 200"), "{login}");
    assert!(login.contains("<title>Sign in · Coupler</title>"));
    assert!(
        metrics.starts_with("HTTP/1.1 200")
            && metrics.contains("coupler_couplings{mapping=\"CUSTOMER\"}"),
        "/metrics answers a scraper on this machine: {metrics}"
    );
    assert!(
        dir.join("coupler.db").exists(),
        "the default store is coupler.db next to the configuration"
    );
    use std::os::unix::fs::PermissionsExt;
    for file in ["coupler.db", "coupler.db-wal", "erp.db", "crm.db"] {
        let mode = std::fs::metadata(dir.join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file} is its owner's alone");
    }
}

#[test]
fn slow_clients_and_crowds_from_one_address_are_closed() {
    let dir = temp_dir("cli-slow");
    demo(&dir);
    let (mut child, address) = crate::support::spawn_serve(
        coupler()
            .arg("--config")
            .arg(dir.join("coupler.toml"))
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args([
                "--header-read-seconds",
                "2",
                "--connections-per-address",
                "3",
            ])
            .stderr(Stdio::null()),
    );
    // Half a request, then nothing: the server closes the connection.
    let mut half = TcpStream::connect(&address).unwrap();
    half.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(half, "GET /health HTTP/1.1\r\nHost: {address}\r\n").unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let read = half.read_to_end(&mut answer);
    let held = started.elapsed();
    eprintln!("a half-sent request was held {held:?}");
    assert!(
        read.is_ok(),
        "closed by the server, not by the client's wait: {read:?}"
    );
    assert!(
        held < std::time::Duration::from_secs(10),
        "closed after the header read limit, not left open: {held:?}"
    );
    drop(half);

    // Three connections from one address are held; a fourth is closed as it arrives.
    let idle: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(&address).unwrap())
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let mut fourth = TcpStream::connect(&address).unwrap();
    fourth
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let _ = write!(
        fourth,
        "GET /health HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    );
    let mut refused = String::new();
    let _ = fourth.read_to_string(&mut refused);
    assert!(refused.is_empty(), "the fourth is not served: {refused}");
    drop(idle);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let health = http_get(&address, "/health");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        health.starts_with("HTTP/1.1 200"),
        "once they go, the address is served again: {health}"
    );
}

/// This process's resident memory, in MiB.
fn resident_mib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib / 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crowd_of_sign_ins_does_not_take_the_servers_memory() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = temp_dir("cli-crowd");
    demo(&dir);
    let (mut child, address) = crate::support::spawn_serve(
        coupler()
            .arg("--config")
            .arg(dir.join("coupler.toml"))
            .args(["serve", "--addr", "127.0.0.1:0"])
            .stderr(Stdio::null()),
    );
    let pid = child.id();
    assert!(http_get(&address, "/health").starts_with("HTTP/1.1 200"));
    let before = resident_mib(pid);
    let (peak, done) = (
        Arc::new(AtomicU64::new(before)),
        Arc::new(AtomicBool::new(false)),
    );
    let watch = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(resident_mib(pid), Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        })
    };
    // A hundred sign-ins with unknown names at once, each from an address of its own, so
    // that no per-address limit stops them before their passwords are checked.
    let server: std::net::SocketAddr = address.parse().unwrap();
    let mut crowd = tokio::task::JoinSet::new();
    for n in 1..=100u8 {
        crowd.spawn(async move {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket
                .bind(std::net::SocketAddr::from(([127, 0, 1, n], 0)))
                .unwrap();
            let mut stream = socket.connect(server).await.unwrap();
            let body = format!("name=nobody{n}&password=wrong+password+{n}");
            let request = format!(
                "POST /api/sign_in HTTP/1.1\r\nHost: {server}\r\nAccept: application/json\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.unwrap();
            answer.lines().next().unwrap_or_default().to_string()
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = crowd.join_next().await {
        statuses.push(status.unwrap());
    }
    let health = http_get(&address, "/health");
    std::thread::sleep(std::time::Duration::from_secs(1));
    let after = resident_mib(pid);
    done.store(true, Ordering::Relaxed);
    watch.join().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let peak = peak.load(Ordering::Relaxed);
    eprintln!("resident memory: {before} MiB before, {peak} MiB at most, {after} MiB after");
    for status in &statuses {
        assert!(
            status.starts_with("HTTP/1.1 401") || status.starts_with("HTTP/1.1 429"),
            "each refused, or asked to try again: {status:?}"
        );
    }
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(
        peak < before + 200,
        "a crowd of sign-ins took the server from {before} to {peak} MiB"
    );
    assert!(
        after < before + 100,
        "after the crowd the server holds {after} MiB (before: {before})"
    );
}

fn http_get(address: &str, path: &str) -> String {
    http_get_as(address, address, path)
}

/// `GET path` from the server at `address`, naming `host` as the request's Host.
fn http_get_as(address: &str, host: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn the_demo_creates_one_account_per_role_and_prints_their_passwords() {
    let dir = temp_dir("cli-demo-users");
    let output = coupler()
        .args(["demo", "--customers", "5", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    for role in ["viewer", "operator", "admin"] {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{role} ")))
            .unwrap_or_else(|| panic!("a line for {role}: {text}"));
        let password = line.split_whitespace().last().unwrap();
        assert_eq!(password.len(), 16, "a 16-character password: {line}");
    }
    let list = run_in(&dir, &["user", "list"]);
    let list = String::from_utf8(list.stdout).unwrap();
    assert!(list.contains("operator  operator"), "{list}");
}

#[test]
fn users_are_added_listed_changed_and_removed_from_the_command_line() {
    let dir = temp_dir("cli-users");
    demo(&dir);
    let add = |name: &str, role: &str, password: &str| {
        coupler()
            .arg("--config")
            .arg(dir.join("coupler.toml"))
            .args(["user", "add", name, "--role", role])
            .env("COUPLER_PASSWORD", password)
            .output()
            .unwrap()
    };
    let added = add("ada", "operator", "correct horse battery");
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    assert_eq!(
        String::from_utf8(added.stdout).unwrap(),
        "Added ada as operator.\n"
    );

    let taken = refused(add("ada", "viewer", "correct horse battery"));
    assert_eq!(taken, "error: a user named ada exists");
    let short = refused(add("bob", "viewer", "short"));
    assert_eq!(short, "error: a password is 8 to 1024 characters");
    let bad_name = refused(add("no spaces", "viewer", "correct horse battery"));
    assert!(
        bad_name.contains("a user name is 1 to 64 letters"),
        "{bad_name}"
    );
    let bad_role = coupler()
        .args(["user", "add", "carol", "--role", "owner"])
        .output()
        .unwrap();
    assert!(!bad_role.status.success());
    assert!(
        String::from_utf8_lossy(&bad_role.stderr)
            .contains("possible values: viewer, operator, admin")
    );

    let changed = run_in(&dir, &["user", "set-role", "ada", "admin"]);
    assert!(changed.status.success());
    let listed = String::from_utf8(run_in(&dir, &["user", "list", "--json"]).stdout).unwrap();
    let users: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let ada = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "ada")
        .unwrap();
    assert_eq!(ada["role"], "admin");

    assert!(run_in(&dir, &["user", "remove", "ada"]).status.success());
    let listed = String::from_utf8(run_in(&dir, &["user", "list"]).stdout).unwrap();
    assert!(!listed.contains("ada"), "{listed}");
    let gone = refused(run_in(&dir, &["user", "remove", "ada"]));
    assert_eq!(gone, "error: no user is named ada");

    // The store keeps an admin: the demo's is the only one now.
    let last = refused(run_in(&dir, &["user", "set-role", "admin", "viewer"]));
    assert_eq!(
        last,
        "error: admin is the only admin: make another user admin first"
    );
}

#[test]
fn a_store_without_users_is_not_served_and_says_how_to_add_the_first_admin() {
    let dir = temp_dir("cli-no-users");
    demo(&dir);
    sql(&dir.join("coupler.db"), "delete from account");
    let line = refused(serve(&dir, &[]));
    assert_eq!(
        line,
        "error: nobody can sign in to this store yet: create the first admin with `coupler user add NAME --role admin`, then serve again"
    );
}

#[test]
fn a_malformed_database_url_is_named() {
    let dir = temp_dir("cli-url");
    demo(&dir);
    let line = refused(serve(
        &dir,
        &["--database-url", "mysql://coupler@db/coupler"],
    ));
    assert!(
        line.contains(r#""mysql://coupler@db/coupler" is not valid"#),
        "{line}"
    );
}

#[test]
fn an_unreachable_database_is_named_without_its_password() {
    let dir = temp_dir("cli-unreachable");
    demo(&dir);
    let unused = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://coupler:hunter2@127.0.0.1:{unused}/coupler");
    let output = coupler()
        .arg("--config")
        .arg(dir.join("coupler.toml"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("COUPLER_DATABASE_URL", &url)
        .output()
        .unwrap();
    let line = refused(output);
    assert!(
        line.contains(&format!(
            "cannot reach the store at postgres://coupler:***@127.0.0.1:{unused}/coupler"
        )),
        "{line}"
    );
    assert!(!line.contains("hunter2"), "{line}");
}

#[test]
fn a_port_in_use_is_named() {
    let dir = temp_dir("cli-port");
    demo(&dir);
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let output = coupler()
        .arg("--config")
        .arg(dir.join("coupler.toml"))
        .args(["serve", "--addr", &address])
        .output()
        .unwrap();
    let line = refused(output);
    assert!(
        line.contains(&format!("cannot listen on {address}")),
        "{line}"
    );
    assert!(line.contains("in use"), "{line}");
}

#[test]
fn a_failed_migration_is_named() {
    let dir = temp_dir("cli-migration");
    demo(&dir);
    // A database that is not Coupler's, with a table in the way of the first migration.
    let store = dir.join("other.db");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        use sqlx::{Connection, Executor};
        let url = format!("sqlite://{}?mode=rwc", store.display());
        let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
        connection
            .execute("create table mapping_state (id integer)")
            .await
            .unwrap();
    });
    let url = format!("sqlite://{}", store.display());
    let line = refused(serve(&dir, &["--database-url", &url]));
    assert!(
        line.contains(&format!("the store's migrations failed at {url}")),
        "{line}"
    );
    assert!(line.contains("mapping_state"), "{line}");
}

#[test]
fn a_malformed_configuration_names_file_and_line() {
    let dir = temp_dir("cli-config");
    let config = dir.join("coupler.toml");
    std::fs::write(
        &config,
        "[systems.erp]\nurl = \"sqlite://erp.db\"\n\n[[mapping]\nname = \"X\"\n",
    )
    .unwrap();
    let line = refused(serve(&dir, &[]));
    assert!(
        line.starts_with(&format!("error: {}:4: ", config.display())),
        "{line}"
    );
}

#[test]
fn a_missing_configuration_is_named() {
    let dir = temp_dir("cli-missing");
    let line = refused(serve(&dir, &[]));
    assert!(
        line.contains(&format!(
            "{}: cannot read the configuration",
            dir.join("coupler.toml").display()
        )),
        "{line}"
    );
}

/// Runs `coupler ARGS` on the demo in `dir`.
fn run_in(dir: &Path, args: &[&str]) -> Output {
    coupler()
        .arg("--config")
        .arg(dir.join("coupler.toml"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs one statement on a demo database, as a person's change.
fn sql(path: &Path, statement: &str) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        use sqlx::{Connection, Executor};
        let mut connection =
            sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
        connection.execute(statement).await.unwrap();
    });
}

fn edit_config(dir: &Path, from: &str, to: &str) {
    let path = dir.join("coupler.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "the demo configuration has {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn sync_prints_each_jobs_counters_and_the_other_commands_read_the_result() {
    let dir = temp_dir("cli-sync");
    demo(&dir);
    let output = run_in(&dir, &["sync", "--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let jobs: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let names: Vec<&str> = jobs
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["mapping"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["CUSTOMER", "ITEM-PRODUCT", "CONTACT"]);
    assert_eq!(jobs[0]["state"], "succeeded");
    assert_eq!(
        jobs[0]["counters"]["inserted"], 18,
        "20 customers, 2 matched by e-mail"
    );
    assert_eq!(jobs[0]["counters"]["coupled"], 20);

    let text = run_in(&dir, &["sync"]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("CUSTOMER (job 4, synchronization): succeeded"),
        "{text}"
    );
    assert!(text.contains("inserted 0, modified 0"), "{text}");

    let couplings = run_in(&dir, &["couplings", "--mapping", "CUSTOMER", "--json"]);
    let couplings: serde_json::Value = serde_json::from_slice(&couplings.stdout).unwrap();
    assert_eq!(couplings.as_array().unwrap().len(), 20);
    assert_eq!(couplings[0]["local_key"], "C000001");

    let log = run_in(
        &dir,
        &["log", "--mapping", "CUSTOMER", "--local", "C000001"],
    );
    let log = String::from_utf8(log.stdout).unwrap();
    assert!(
        log.contains("inserted to_integration: ok by cli job 1"),
        "{log}"
    );
    assert!(log.contains("name: (empty) → "), "{log}");

    let errors = run_in(&dir, &["errors", "--kind", "failed"]);
    assert!(errors.status.success());
    assert_eq!(
        String::from_utf8(errors.stdout).unwrap(),
        "No open sync errors.\n"
    );

    let bad = run_in(&dir, &["errors", "--kind", "broken"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid value 'broken'"));
}

#[test]
fn status_says_why_a_record_is_or_is_not_synchronizing() {
    let dir = temp_dir("cli-status");
    demo(&dir);
    assert!(run_in(&dir, &["sync"]).status.success());
    sql(
        &dir.join("erp.db"),
        "update customer set city = 'Tromsø', modified_at = modified_at + 1000 where no = 'C000001'",
    );
    let json = run_in(
        &dir,
        &[
            "status",
            "--mapping",
            "CUSTOMER",
            "--local",
            "C000001",
            "--json",
        ],
    );
    assert!(
        json.status.success(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(status["state"], "pending");
    assert_eq!(status["reasons"][0]["code"], "pending");
    assert!(
        status["reasons"][0]["message"]
            .as_str()
            .unwrap()
            .contains("address1_city"),
        "{status}"
    );

    let text = run_in(
        &dir,
        &["status", "--mapping", "CUSTOMER", "--local", "NOBODY"],
    );
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.starts_with("CUSTOMER local record NOBODY: Not found (not_found)\n"),
        "{text}"
    );

    let unknown = refused(run_in(
        &dir,
        &["status", "--mapping", "NOPE", "--local", "C000001"],
    ));
    assert!(unknown.contains("NOPE"), "{unknown}");
    let neither = run_in(&dir, &["status", "--mapping", "CUSTOMER"]);
    assert!(!neither.status.success());
}

#[test]
fn backup_writes_a_new_file_and_restore_fills_only_an_empty_store() {
    let dir = temp_dir("cli-backup");
    demo(&dir);
    assert!(run_in(&dir, &["sync"]).status.success());
    let file = dir.join("store-backup.db");
    let file_arg = file.to_str().unwrap();
    let backed = run_in(&dir, &["backup", file_arg]);
    assert!(
        backed.status.success(),
        "{}",
        String::from_utf8_lossy(&backed.stderr)
    );
    let said = String::from_utf8(backed.stdout).unwrap();
    assert!(said.starts_with("backed up the store to "), "{said}");
    assert!(said.contains(" couplings, "), "{said}");
    let again = refused(run_in(&dir, &["backup", file_arg]));
    assert!(again.contains("exists already"), "{again}");

    let over = refused(run_in(&dir, &["restore", file_arg]));
    assert!(over.contains("is not empty"), "{over}");
    let fresh = format!("sqlite://{}", dir.join("fresh.db").display());
    let restored = run_in(&dir, &["--database-url", &fresh, "restore", file_arg]);
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    let couplings = count(&dir.join("fresh.db"), "select count(*) from coupling");
    assert_eq!(
        couplings,
        count(&dir.join("coupler.db"), "select count(*) from coupling")
    );
    assert!(couplings > 0);
}

#[test]
fn health_says_whether_each_mapping_synchronizes_as_it_should() {
    let dir = temp_dir("cli-health");
    demo(&dir);
    assert!(run_in(&dir, &["sync"]).status.success());
    let healthy = run_in(&dir, &["health", "--json"]);
    assert!(
        healthy.status.success(),
        "{}",
        String::from_utf8_lossy(&healthy.stderr)
    );
    let health: serde_json::Value = serde_json::from_slice(&healthy.stdout).unwrap();
    let mut names: Vec<&str> = health
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["mapping"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["CONTACT", "CUSTOMER", "ITEM-PRODUCT"]);
    assert!(
        health
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["problems"] == serde_json::json!([])),
        "just synchronized, every mapping is healthy: {health}"
    );
    assert!(health[0]["last_success_at"].is_i64(), "{health}");

    // The CRM's account table loses a mapped column.
    sql(
        &dir.join("crm.db"),
        "alter table account drop column telephone1",
    );
    let text = run_in(&dir, &["health"]);
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.starts_with("CUSTOMER: 1 problem (last success: 20"),
        "{text}"
    );
    assert!(text.contains("\n  missing_column: system crm: "), "{text}");
    assert!(text.contains("telephone1"), "{text}");
}

/// `coupler sync` refusing a configuration: one line, and nothing written to the store
/// (the demo made it for its accounts).
fn sync_refused(dir: &Path) -> String {
    let line = refused(run_in(dir, &["sync"]));
    let written = count(
        &dir.join("coupler.db"),
        "select (select count(*) from job) + (select count(*) from coupling)",
    );
    assert_eq!(written, 0, "nothing is written anywhere: {line}");
    line
}

/// The one number `query` answers on a SQLite database.
fn count(path: &Path, query: &str) -> i64 {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        use sqlx::{Connection, Row};
        let mut connection =
            sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
        sqlx::query(query)
            .fetch_one(&mut connection)
            .await
            .unwrap()
            .get(0)
    })
}

#[test]
fn sync_names_an_unknown_table_or_column_and_writes_nothing() {
    let dir = temp_dir("cli-table");
    demo(&dir);
    edit_config(&dir, r#"table = "account""#, r#"table = "acount""#);
    let line = sync_refused(&dir);
    assert!(
        line.contains(r#"mapping CUSTOMER: system crm: table "acount" cannot be read"#),
        "{line}"
    );

    let dir = temp_dir("cli-column");
    demo(&dir);
    edit_config(
        &dir,
        r#"integration = "telephone1""#,
        r#"integration = "telephone""#,
    );
    let line = sync_refused(&dir);
    assert!(
        line.contains(r#"mapping CUSTOMER: system crm: table "account" has no column "telephone""#),
        "{line}"
    );
}

#[test]
fn sync_names_an_unreachable_system_and_writes_nothing() {
    let dir = temp_dir("cli-system");
    demo(&dir);
    edit_config(
        &dir,
        r#"url = "sqlite://crm.db""#,
        r#"url = "sqlite://missing/crm.db""#,
    );
    let line = sync_refused(&dir);
    assert!(
        line.contains("mapping CUSTOMER: system crm is unreachable at sqlite://"),
        "{line}"
    );
    assert!(line.contains("missing/crm.db"), "{line}");

    let dir = temp_dir("cli-system-pg");
    demo(&dir);
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    edit_config(
        &dir,
        r#"url = "sqlite://erp.db""#,
        &format!(r#"url = "postgres://erp:secret@127.0.0.1:{port}/erp""#),
    );
    let line = sync_refused(&dir);
    assert!(
        line.contains(&format!(
            "system erp is unreachable at postgres://erp:***@127.0.0.1:{port}/erp"
        )),
        "{line}"
    );
}

#[test]
fn sync_refuses_a_configuration_with_a_cycle_or_an_unmapped_direction() {
    let dir = temp_dir("cli-cycle");
    demo(&dir);
    edit_config(
        &dir,
        "interval = \"30s\"\nlocal = { system = \"erp\", table = \"customer\"",
        "interval = \"30s\"\ndepends_on = [\"CONTACT\"]\nlocal = { system = \"erp\", table = \"customer\"",
    );
    let line = sync_refused(&dir);
    assert!(
        line.contains("depends_on forms a cycle among mappings CUSTOMER, CONTACT"),
        "{line}"
    );

    let dir = temp_dir("cli-direction");
    demo(&dir);
    // credit_limit flows to the integration side only.
    edit_config(
        &dir,
        "name = \"CUSTOMER\"\ndirection = \"bidirectional\"",
        "name = \"CUSTOMER\"\ndirection = \"from_integration\"",
    );
    let line = sync_refused(&dir);
    assert!(
        line.contains("mapping CUSTOMER: field 6: direction to_integration is not allowed by the mapping's direction from_integration"),
        "{line}"
    );
}

#[test]
fn the_actions_work_from_the_command_line() {
    let dir = temp_dir("cli-actions");
    demo(&dir);
    assert!(run_in(&dir, &["sync"]).status.success());
    let simulated = coupler()
        .args(["demo", "simulate", "--seed", "5", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        simulated.status.success(),
        "{}",
        String::from_utf8_lossy(&simulated.stderr)
    );
    assert!(run_in(&dir, &["sync"]).status.success());
    let errors = |kind: &str| -> Vec<serde_json::Value> {
        let out = run_in(&dir, &["errors", "--kind", kind, "--json"]);
        serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap()
    };
    let id = |e: &serde_json::Value| e["id"].as_i64().unwrap().to_string();

    let conflict = errors("update-conflict");
    assert_eq!(conflict.len(), 1, "the simulation makes one conflict");
    let resolved = run_in(
        &dir,
        &["errors", "resolve", &id(&conflict[0]), "--use", "local"],
    );
    let text = String::from_utf8(resolved.stdout).unwrap();
    assert!(resolved.status.success(), "{text}");
    assert!(
        text.contains("done: synchronized with the local data"),
        "{text}"
    );
    let again = run_in(
        &dir,
        &[
            "errors",
            "resolve",
            &id(&conflict[0]),
            "--use",
            "local",
            "--json",
        ],
    );
    assert!(!again.status.success(), "nothing done the second time");
    let answer: Vec<serde_json::Value> = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(answer[0]["outcomes"][0]["outcome"], "stale");
    assert!(
        answer[0]["outcomes"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("already handled by cli at ")
    );

    let deleted = errors("deleted-local");
    let restored = run_in(&dir, &["errors", "restore", &id(&deleted[0])]);
    assert!(
        String::from_utf8(restored.stdout)
            .unwrap()
            .contains("was recreated and coupled again")
    );
    let gone = errors("deleted-integration");
    let removed = run_in(&dir, &["errors", "delete-records", &id(&gone[0])]);
    assert!(
        String::from_utf8(removed.stdout)
            .unwrap()
            .contains("the local record and the coupling were deleted")
    );

    let long = "x".repeat(200);
    sql(
        &dir.join("erp.db"),
        &format!("update customer set name = '{long}' where no = 'C000002'"),
    );
    assert!(
        run_in(&dir, &["sync", "--mapping", "CUSTOMER"])
            .status
            .success()
    );
    let retry = run_in(&dir, &["errors", "retry", "--all", "--kind", "failed"]);
    let text = String::from_utf8(retry.stdout).unwrap();
    assert!(text.contains("takes at most 160"), "{text}");

    let couplings = run_in(
        &dir,
        &[
            "couplings",
            "remove",
            "--mapping",
            "ITEM-PRODUCT",
            "--all",
            "--json",
        ],
    );
    let jobs: Vec<serde_json::Value> = serde_json::from_slice(&couplings.stdout).unwrap();
    assert_eq!(jobs[0]["kind"], "uncoupling");
    assert_eq!(jobs[0]["counters"]["uncoupled"], 20);
    let found = run_in(&dir, &["find-deleted", "--mapping", "CUSTOMER"]);
    assert!(
        String::from_utf8(found.stdout)
            .unwrap()
            .contains("find_for_deleted): succeeded")
    );
    let listed = String::from_utf8(run_in(&dir, &["jobs"]).stdout).unwrap();
    assert!(
        listed.contains("ITEM-PRODUCT (job") && listed.contains("uncoupling): succeeded"),
        "{listed}"
    );
    let bad = run_in(
        &dir,
        &[
            "couplings",
            "add",
            "--mapping",
            "CUSTOMER",
            "--local",
            "C000001",
            "--integration",
            "nope",
        ],
    );
    assert!(!bad.status.success());
    assert!(
        String::from_utf8(bad.stdout)
            .unwrap()
            .contains("refused: the local record C000001 is coupled already")
    );
}

#[test]
fn bench_quick_prints_every_figure_and_the_targets() {
    let output = coupler()
        .args(["bench", "--quick", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    // Standard output is the one JSON object; progress and targets went to standard error.
    let figures: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    let number = |path: &str| {
        figures
            .pointer(path)
            .and_then(serde_json::Value::as_f64)
            .unwrap_or_else(|| panic!("{path} missing in {figures:#}"))
    };
    assert_eq!(number("/records"), 10_000.0);
    assert_eq!(figures["store"], "sqlite");
    assert!(number("/raw") > 0.0);
    // Every customer was synchronized: coupled, or refused for its long name.
    let (coupled, failed) = (
        number("/initial_sync/coupled"),
        number("/initial_sync/failed"),
    );
    assert_eq!(coupled + failed, 10_000.0, "{figures:#}");
    assert!(failed < 500.0, "{figures:#}");
    let ratio = number("/initial_sync/records_per_s") / number("/raw");
    assert!((ratio - number("/initial_sync/ratio_to_raw")).abs() < 1e-6);
    assert_eq!(number("/incremental/changed"), 1000.0);
    assert!(number("/incremental/seconds") > 0.0 && number("/incremental/seconds_tenth") > 0.0);
    // Every record made to fail was refused by the run the bench timed, but those refused
    // from the start: failed twice since, they are left alone.
    assert_eq!(
        number("/failing_sync/failed") + failed,
        10_000.0,
        "{figures:#}"
    );
    assert!(number("/failing_sync/seconds") > 0.0);
    // The errors list ran over the 10,000 records made to fail.
    assert!(number("/errors_page/errors") >= 10_000.0, "{figures:#}");
    assert_eq!(number("/errors_page/calls"), 1000.0);
    assert!(number("/errors_page/p50_ms") <= number("/errors_page/p99_ms"));
    assert_eq!(
        figures["errors_page"]["p99_by_call_ms"]
            .as_array()
            .map(Vec::len),
        Some(4)
    );
    assert!(number("/errors_page/rendered_p99_ms") > 0.0);
    assert_eq!(number("/record_status/calls"), 300.0);
    assert!(number("/record_status/p50_ms") <= number("/record_status/p99_ms"));
    assert_eq!(number("/health/calls"), 20.0);
    assert!(number("/health/by_state_p50_ms") <= number("/health/by_state_p99_ms"));
    assert!(number("/health/health_p50_ms") > 0.0);
    assert!(number("/health/overview_first_count_ms") > 0.0);
    assert!(number("/retry_all") >= 0.0);
    assert!(number("/concurrent_console/requests") > 0.0);
    assert_eq!(number("/concurrent_console/failed"), 0.0, "{figures:#}");
    assert!(number("/peak_rss_mb") > 0.0);
    // Twenty old entries for each of a tenth of the records, ten kept: half went, and
    // the console answered every request meanwhile.
    assert!(number("/prune/added") > 0.0);
    assert_eq!(
        number("/prune/rows"),
        number("/prune/added") / 2.0,
        "{figures:#}"
    );
    assert_eq!(number("/prune/console/failed"), 0.0, "{figures:#}");
    // The scan looked at every coupling there was.
    assert_eq!(number("/deletion_scan/couplings"), coupled, "{figures:#}");
    assert!(number("/deletion_scan/seconds") > 0.0);
    for target in [
        "initial_sync ≥ 25% of raw",
        "incremental ≤ 0.5 s",
        "peak_rss_mb ≤ 300",
    ] {
        assert!(stderr.contains(target), "{stderr}");
    }
}
