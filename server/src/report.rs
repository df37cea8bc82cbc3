//! What the CLI prints: aligned text for people, or JSON with `--json`.

use engine::model::{
    ActionAnswer, CouplingSummary, Fix, JobSummary, LogEntrySummary, MappingHealth, RecordStatus,
    SyncErrorSummary, UserSummary, format_time,
};
use serde::Serialize;
use std::io::Write;

/// Prints `items` as JSON, or as text through `text`.
pub fn print<T: Serialize>(
    json: bool,
    items: &[T],
    text: fn(&[T]) -> String,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, items)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", text(items))?;
    }
    Ok(())
}

/// Lines of columns, each as wide as its widest cell.
pub(crate) fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| -> String {
        let last = cells.len().saturating_sub(1);
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if i == last {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  "));
            }
        }
        text.trim_end().to_string() + "\n"
    };
    let mut text = line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        text.push_str(&line(row));
    }
    text
}

/// Jobs with their counters.
pub fn jobs(jobs: &[JobSummary]) -> String {
    let mut text = String::new();
    for job in jobs {
        let seconds = match (job.started_at, job.finished_at) {
            (Some(start), Some(end)) => format!(" in {:.2} s", (end - start) as f64 / 1000.0),
            _ => String::new(),
        };
        text.push_str(&format!(
            "{} (job {}, {}): {}{seconds}\n",
            job.mapping,
            job.id,
            job.kind.as_str(),
            job.state.as_str()
        ));
        let counters: Vec<String> = job
            .counters
            .named()
            .iter()
            .map(|(n, v)| format!("{n} {v}"))
            .collect();
        text.push_str(&format!("  {}\n", counters.join(", ")));
        if let Some(message) = &job.message {
            text.push_str(&format!("  {message}\n"));
        }
    }
    text
}

/// Open sync errors.
pub fn errors(errors: &[SyncErrorSummary]) -> String {
    if errors.is_empty() {
        return "No open sync errors.\n".into();
    }
    table(
        &[
            "ID",
            "MAPPING",
            "KIND",
            "LOCAL",
            "INTEGRATION",
            "ATTEMPTS",
            "FAILED ON",
            "MESSAGE",
        ],
        errors
            .iter()
            .map(|e| {
                vec![
                    e.id.to_string(),
                    e.mapping.clone(),
                    e.kind.as_str().to_string() + if e.skipped { " (skipped)" } else { "" },
                    e.local_key.clone().unwrap_or_else(|| "-".into()),
                    e.integration_key.clone().unwrap_or_else(|| "-".into()),
                    e.attempts.to_string(),
                    format_time(e.failed_at),
                    e.message.clone(),
                ]
            })
            .collect(),
    )
}

/// A mapping's couplings.
pub fn couplings(couplings: &[CouplingSummary]) -> String {
    if couplings.is_empty() {
        return "No couplings.\n".into();
    }
    table(
        &[
            "LOCAL",
            "INTEGRATION",
            "SKIPPED",
            "TO INTEGRATION",
            "FROM INTEGRATION",
            "SYNCHRONIZED",
        ],
        couplings
            .iter()
            .map(|c| {
                vec![
                    c.local_key.clone(),
                    c.integration_key.clone(),
                    if c.skipped { "yes" } else { "no" }.into(),
                    c.last_to_integration.clone().unwrap_or_else(|| "-".into()),
                    c.last_from_integration
                        .clone()
                        .unwrap_or_else(|| "-".into()),
                    c.synced_at
                        .map(format_time)
                        .unwrap_or_else(|| "pending".into()),
                ]
            })
            .collect(),
    )
}

/// A record's log, newest first.
pub fn log(entries: &[LogEntrySummary]) -> String {
    if entries.is_empty() {
        return "No log entries for this record.\n".into();
    }
    let mut text = String::new();
    for e in entries {
        let direction = e.direction.map(|d| format!(" {d}")).unwrap_or_default();
        let job = e.job_id.map(|j| format!(" job {j}")).unwrap_or_default();
        text.push_str(&format!(
            "{}  {}{direction}: {} by {}{job} (local {}, integration {})\n",
            format_time(e.at),
            e.action,
            e.result,
            e.actor,
            e.local_key.as_deref().unwrap_or("-"),
            e.integration_key.as_deref().unwrap_or("-"),
        ));
        for change in &e.changes {
            text.push_str(&format!(
                "    {}: {} → {}\n",
                change.field, change.old, change.new
            ));
        }
        if let Some(message) = &e.message {
            text.push_str(&format!("    {message}\n"));
        }
    }
    text
}

/// A record's status: the state, then each reason with its facts and fix.
pub fn status(status: &RecordStatus) -> String {
    let partner = status
        .partner
        .as_deref()
        .map(|p| format!(", coupled with {p}"))
        .unwrap_or_default();
    let mut text = format!(
        "{} {} record {}{partner}: {} ({})\n",
        status.mapping,
        status.side,
        status.key,
        status.state.label(),
        status.state.as_str()
    );
    for r in &status.reasons {
        text.push_str(&format!("  {}: {}\n", r.code.as_str(), r.message));
        if let Some(fix) = &r.fix {
            let fix = match fix {
                Fix::Retry { error_id, .. } => format!("coupler errors retry {error_id}"),
                Fix::OpenError { error_id } => format!("coupler errors (error {error_id})"),
                Fix::Resume { mapping } => format!("resume mapping {mapping} in the console"),
                Fix::OpenRecord { mapping, side, key } => {
                    format!("coupler status --mapping {mapping} --{side} {key}")
                }
            };
            text.push_str(&format!("    fix: {fix}\n"));
        }
    }
    text
}

/// Each mapping's health: one line each, then a line per problem.
pub fn health(health: &[MappingHealth]) -> String {
    let mut text = String::new();
    for h in health {
        let last = h.last_success_at.map_or("never".to_string(), format_time);
        let state = if h.healthy() {
            "healthy".to_string()
        } else {
            format!(
                "{} problem{}",
                h.problems.len(),
                if h.problems.len() == 1 { "" } else { "s" }
            )
        };
        text.push_str(&format!("{}: {state} (last success: {last})\n", h.mapping));
        for p in &h.problems {
            text.push_str(&format!("  {}: {}\n", p.code.as_str(), p.message));
        }
    }
    text
}

/// Actions' answers: per record what happened, then the summary.
pub fn answers(answers: &[ActionAnswer]) -> String {
    let mut text = String::new();
    for answer in answers {
        for o in &answer.outcomes {
            let record = match (&o.local_key, &o.integration_key) {
                (Some(l), Some(i)) => format!("local {l}, integration {i}"),
                (Some(l), None) => format!("local {l}"),
                (None, Some(i)) => format!("integration {i}"),
                (None, None) => "-".into(),
            };
            let error = o
                .error_id
                .map(|id| format!("error {id} "))
                .unwrap_or_default();
            let outcome = serde_json::to_value(o.outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            text.push_str(&format!(
                "{error}{} ({record}): {outcome}: {}\n",
                o.mapping, o.message
            ));
        }
        text.push_str(&answer.summary);
        text.push('\n');
    }
    text
}

/// Console accounts.
pub fn users(users: &[UserSummary]) -> String {
    table(
        &["NAME", "ROLE", "CREATED", "LAST SIGNED IN", "SESSIONS"],
        users
            .iter()
            .map(|u| {
                vec![
                    u.name.clone(),
                    u.role.to_string(),
                    format_time(u.created_at),
                    u.last_signed_in.map_or("never".into(), format_time),
                    u.sessions.to_string(),
                ]
            })
            .collect(),
    )
}
