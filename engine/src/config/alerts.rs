//! `[alerts]` and `[[alert]]`: the rules that tell people when an integration goes wrong,
//! and where each rule's firings are delivered (a signed webhook, e-mail over SMTP).
//! Secrets are named by environment variable, never written in the file.

use super::{known, parse_duration, shown_duration};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

/// How often the rules are checked when `[alerts] every` is not written.
pub const DEFAULT_CHECK_EVERY: Duration = Duration::from_secs(60);

/// Every alert rule and where they are delivered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Alerts {
    /// The console's address as people reach it (`https://coupler.example.com`), for the
    /// links in firings; without it they are paths.
    pub console_url: Option<String>,
    /// How often the rules are checked.
    pub every: Duration,
    /// The SMTP server e-mail goes through, if any rule sends e-mail.
    pub smtp: Option<Smtp>,
    /// The rules, in the file's order.
    pub rules: Vec<AlertRule>,
}

/// One `[[alert]]`: a condition of a mapping (or of every mapping) and its deliveries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertRule {
    /// Its unique name, shown with every firing.
    pub name: String,
    /// What holds while it fires.
    pub condition: Condition,
    /// The one mapping it watches; `None`: each mapping, on its own.
    pub mapping: Option<String>,
    /// The webhook its firings are posted to.
    pub webhook: Option<Webhook>,
    /// The addresses its firings are e-mailed to.
    pub email: Vec<String>,
}

/// What an alert rule watches. Each holds or not for one mapping at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// More than `above` open errors.
    OpenErrors {
        /// The most open errors that do not fire it.
        above: u64,
    },
    /// More than `above` errors first found within the last `within`.
    NewErrors {
        /// The most new errors that do not fire it.
        above: u64,
        /// The window.
        within: Duration,
    },
    /// The last `times` jobs (at least) failed.
    JobFailing {
        /// How many failures in a row fire it.
        times: u32,
    },
    /// No run has succeeded for longer than `over` (one failed since, or none ever did).
    NoSuccess {
        /// How long without a success fires it.
        over: Duration,
    },
    /// A system of the mapping does not answer.
    SystemUnreachable,
    /// The mapping's health names any problem.
    Unhealthy,
    /// The mapping's schedule is paused (by a person or by `pause_after`).
    Paused,
}

impl Condition {
    /// The condition's name as written in `when`.
    pub fn code(&self) -> &'static str {
        match self {
            Condition::OpenErrors { .. } => "open_errors",
            Condition::NewErrors { .. } => "new_errors",
            Condition::JobFailing { .. } => "job_failing",
            Condition::NoSuccess { .. } => "no_success",
            Condition::SystemUnreachable => "system_unreachable",
            Condition::Unhealthy => "unhealthy",
            Condition::Paused => "paused",
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::OpenErrors { above } => write!(f, "more than {above} open errors"),
            Condition::NewErrors { above, within } => write!(
                f,
                "more than {above} new errors within {}",
                shown_duration(*within)
            ),
            Condition::JobFailing { times } => write!(f, "{times} failed runs in a row"),
            Condition::NoSuccess { over } => {
                write!(f, "no successful run for {}", shown_duration(*over))
            }
            Condition::SystemUnreachable => f.write_str("a system does not answer"),
            Condition::Unhealthy => f.write_str("any health problem"),
            Condition::Paused => f.write_str("the schedule is paused"),
        }
    }
}

/// A webhook: firings are posted to `url` as JSON, signed when a secret is named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    /// Where to post (`http://` or `https://`).
    pub url: String,
    /// The environment variable holding the HMAC-SHA256 key the body is signed with.
    pub secret_env: Option<String>,
}

impl Webhook {
    /// The webhook's scheme, host and port: what the console and the store show of it (its
    /// path may carry a token).
    pub fn shown(&self) -> String {
        let rest = self.url.split_once("://").map_or("", |(_, rest)| rest);
        let scheme = self.url.split_once("://").map_or("", |(scheme, _)| scheme);
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = host.rsplit_once('@').map_or(host, |(_, host)| host);
        format!("{scheme}://{host}")
    }
}

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain first, then STARTTLS (required); the usual port 587.
    #[default]
    Starttls,
    /// TLS from the first byte; the usual port 465.
    Tls,
    /// No encryption at all: only for a server on this machine.
    None,
}

/// `[alerts.smtp]`: the server e-mail is sent through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Smtp {
    /// Its host name.
    pub host: String,
    /// Its port (default 587, or 465 with `tls = "tls"`, 25 with `tls = "none"`).
    pub port: u16,
    /// How the connection is protected.
    pub tls: SmtpTls,
    /// The sender's address.
    pub from: String,
    /// The environment variable holding the user name to sign in with, if it needs one.
    pub username_env: Option<String>,
    /// The environment variable holding that user's password.
    pub password_env: Option<String>,
}

/// `[alerts]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct AlertsShape {
    console_url: Option<String>,
    every: Option<String>,
    smtp: Option<SmtpShape>,
}

/// `[alerts.smtp]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SmtpShape {
    host: String,
    port: Option<u16>,
    #[serde(default)]
    tls: SmtpTls,
    from: String,
    username_env: Option<String>,
    password_env: Option<String>,
}

/// `[[alert]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AlertShape {
    name: String,
    when: String,
    mapping: Option<String>,
    above: Option<u64>,
    within: Option<String>,
    times: Option<u32>,
    #[serde(rename = "for")]
    over: Option<String>,
    webhook: Option<WebhookShape>,
    #[serde(default)]
    email: Vec<String>,
}

/// `webhook = { url = "…", secret_env = "…" }` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookShape {
    url: String,
    secret_env: Option<String>,
}

/// Reads `[alerts]` and the `[[alert]]` rules, checking each against the `mappings` the
/// file names.
pub(super) fn settings(
    alerts: Option<AlertsShape>,
    rules: Vec<AlertShape>,
    mappings: &[String],
) -> Result<Alerts, String> {
    let alerts = alerts.unwrap_or_default();
    let every = match alerts.every {
        Some(text) => parse_duration(&text).map_err(|e| format!("alerts.every: {e}"))?,
        None => DEFAULT_CHECK_EVERY,
    };
    if let Some(url) = &alerts.console_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(format!(
            "alerts.console_url: {url:?} is not an http:// or https:// address"
        ));
    }
    let smtp = alerts.smtp.map(|smtp| Smtp {
        port: smtp.port.unwrap_or(match smtp.tls {
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
            SmtpTls::None => 25,
        }),
        host: smtp.host,
        tls: smtp.tls,
        from: smtp.from,
        username_env: smtp.username_env,
        password_env: smtp.password_env,
    });
    if let Some(smtp) = &smtp
        && smtp.username_env.is_some() != smtp.password_env.is_some()
    {
        return Err("alerts.smtp: name both username_env and password_env, or neither".into());
    }
    let mut names = BTreeSet::new();
    let mut read = Vec::with_capacity(rules.len());
    for rule in rules {
        let name = rule.name.trim().to_string();
        if name.is_empty() {
            return Err("an alert has an empty name".into());
        }
        if !names.insert(name.clone()) {
            return Err(format!("alert {name}: the name is used by another alert"));
        }
        let read_rule = rule_of(rule, &name, mappings, smtp.is_some())
            .map_err(|message| format!("alert {name}: {message}"))?;
        read.push(read_rule);
    }
    Ok(Alerts {
        console_url: alerts
            .console_url
            .map(|url| url.trim_end_matches('/').to_string()),
        every,
        smtp,
        rules: read,
    })
}

/// One rule, checked.
fn rule_of(
    rule: AlertShape,
    name: &str,
    mappings: &[String],
    has_smtp: bool,
) -> Result<AlertRule, String> {
    if let Some(mapping) = &rule.mapping
        && !mappings.contains(mapping)
    {
        return Err(format!(
            "names the unknown mapping {mapping:?} (known: {})",
            known(mappings.iter())
        ));
    }
    let duration = |field: &str, text: &Option<String>| -> Result<Duration, String> {
        let text = text
            .as_deref()
            .ok_or_else(|| format!("when = {:?} needs {field}", rule.when))?;
        parse_duration(text).map_err(|e| format!("{field}: {e}"))
    };
    let needs = |field: &str| format!("when = {:?} needs {field}", rule.when);
    let (condition, uses): (Condition, &[&str]) = match rule.when.as_str() {
        "open_errors" => (
            Condition::OpenErrors {
                above: rule.above.ok_or_else(|| needs("above"))?,
            },
            &["above"],
        ),
        "new_errors" => (
            Condition::NewErrors {
                above: rule.above.ok_or_else(|| needs("above"))?,
                within: duration("within", &rule.within)?,
            },
            &["above", "within"],
        ),
        "job_failing" => match rule.times.ok_or_else(|| needs("times"))? {
            0 => return Err("times must be at least 1".into()),
            times => (Condition::JobFailing { times }, &["times"]),
        },
        "no_success" => (
            Condition::NoSuccess {
                over: duration("for", &rule.over)?,
            },
            &["for"],
        ),
        "system_unreachable" => (Condition::SystemUnreachable, &[]),
        "unhealthy" => (Condition::Unhealthy, &[]),
        "paused" => (Condition::Paused, &[]),
        other => {
            return Err(format!(
                "when = {other:?} is not a condition (known: open_errors, new_errors, \
                 job_failing, no_success, system_unreachable, unhealthy, paused)"
            ));
        }
    };
    let given = [
        ("above", rule.above.is_some()),
        ("within", rule.within.is_some()),
        ("times", rule.times.is_some()),
        ("for", rule.over.is_some()),
    ];
    if let Some((field, _)) = given
        .iter()
        .find(|(field, given)| *given && !uses.contains(field))
    {
        return Err(format!("when = {:?} takes no {field}", rule.when));
    }
    let webhook = match rule.webhook {
        Some(hook) if hook.url.starts_with("http://") || hook.url.starts_with("https://") => {
            Some(Webhook {
                url: hook.url,
                secret_env: hook.secret_env,
            })
        }
        Some(_) => return Err("webhook.url must be an http:// or https:// address".into()),
        None => None,
    };
    if webhook.is_none() && rule.email.is_empty() {
        return Err("it is delivered nowhere: give it a webhook or email addresses".into());
    }
    if !rule.email.is_empty() && !has_smtp {
        return Err("it sends e-mail, and [alerts.smtp] names no server to send it".into());
    }
    if let Some(address) = rule.email.iter().find(|a| !a.contains('@')) {
        return Err(format!("{address:?} is not an e-mail address"));
    }
    Ok(AlertRule {
        name: name.to_string(),
        condition,
        mapping: rule.mapping,
        webhook,
        email: rule.email,
    })
}
