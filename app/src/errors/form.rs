//! The errors page's fields as they arrive, parsed once into what the engine takes: the
//! filter, and an action with the errors it acts on and its id.

use crate::error::AppError;
use crate::input::{invalid, number, text};
use engine::model::{Action, ErrorCursor, ErrorFilter, ErrorRef, Selection, Side};

/// The action fields of the errors page's form (and of `/api/act_on_sync_errors`), as
/// sent: see [`super::api::act_on_sync_errors`].
pub struct ActionForm {
    /// The toolbar's button: `retry`, `use_local`, …, `retry_all`, `find_deleted`.
    pub action: Option<String>,
    /// The selected errors, `id:version` as seen.
    pub refs: Option<Vec<String>>,
    /// `matching`: every error matching the filter.
    pub all: Option<String>,
    /// A row's own button: `action@id:version`.
    pub row: Option<String>,
    /// Per-field choices of `merge`: `name:local|integration`.
    pub fields: Option<Vec<String>>,
    /// The view the form was sent from.
    pub view: String,
}

/// An action as asked: what to do, on what, under which id.
pub struct ActionRequest {
    /// The action.
    pub action: Action,
    /// The errors it acts on.
    pub selection: Selection,
    /// Its id: the same request from the same view and account is one action.
    pub action_id: String,
}

impl ActionForm {
    /// The action the form asks `actor` to do on `filter`'s errors, or why it cannot be.
    pub fn parse(self, actor: &str, filter: ErrorFilter) -> Result<ActionRequest, AppError> {
        let (name, mut refs) = match self.row.as_deref().filter(|r| !r.is_empty()) {
            Some(row) => {
                let (name, one) = row
                    .split_once('@')
                    .ok_or_else(|| invalid("row", format!("{row:?} is not action@id:version")))?;
                (name.to_string(), vec![error_ref(one)?])
            }
            None => (
                self.action.unwrap_or_default(),
                self.refs
                    .unwrap_or_default()
                    .iter()
                    .map(|r| error_ref(r))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let choices = self.fields.unwrap_or_default();
        let mut by_field = std::collections::BTreeMap::new();
        for choice in &choices {
            let (field, side) = choice
                .split_once(':')
                .and_then(|(field, side)| Some((field.to_string(), Side::parse(side)?)))
                .ok_or_else(|| {
                    invalid(
                        "fields",
                        format!("{choice:?} is not field:local|integration"),
                    )
                })?;
            by_field.insert(field, side);
        }
        let (action, retry_all) = Action::from_form(&name, by_field).ok_or_else(|| {
            invalid(
                "action",
                format!("{name:?} is not an action on sync errors"),
            )
        })?;
        let matching = retry_all
            || action == Action::FindForDeleted
            || (self.all.as_deref() == Some("matching") && self.row.is_none());
        if !matching && refs.is_empty() && action.needs_errors() {
            return Err(invalid(
                "refs",
                "select the errors to act on, or all matching".into(),
            ));
        }
        refs.sort_by_key(|r| (r.id, r.version));
        // What makes this action this one, whatever the order the form listed it in.
        let what = format!(
            "{name}:{}:{}:{}",
            refs.iter()
                .map(|r| format!("{}.{}", r.id, r.version))
                .collect::<Vec<_>>()
                .join(","),
            choices.join(","),
            if matching {
                format!("{filter:?}")
            } else {
                String::new()
            }
        );
        let action_id = engine::action_id(&self.view, actor, &what)
            .map_err(|e| invalid("view", e.to_string()))?;
        let selection = if matching {
            Selection::Matching(filter)
        } else {
            Selection::Errors(refs)
        };
        Ok(ActionRequest {
            action,
            selection,
            action_id,
        })
    }
}

/// An error as seen, from `id:version`.
fn error_ref(text: &str) -> Result<ErrorRef, AppError> {
    text.split_once(':')
        .and_then(|(id, version)| {
            Some(ErrorRef {
                id: id.parse().ok()?,
                version: version.parse().ok()?,
            })
        })
        .ok_or_else(|| {
            invalid(
                "refs",
                format!("{text:?} is not an error as seen (id:version)"),
            )
        })
}

/// A page's position in the errors list (`failed_at.id`, a page's `next`), when given.
pub fn cursor(after: Option<String>) -> Result<Option<ErrorCursor>, AppError> {
    match after.as_deref().filter(|a| !a.is_empty()) {
        None => Ok(None),
        Some(text) => text
            .split_once('.')
            .and_then(|(at, id)| {
                Some(ErrorCursor {
                    failed_at: at.parse().ok()?,
                    id: id.parse().ok()?,
                })
            })
            .map(Some)
            .ok_or_else(|| invalid("after", format!("{text:?} is not a page position"))),
    }
}

/// The filter of the errors page's fields; empty fields filter nothing.
pub fn filter(
    mapping: Option<String>,
    kind: Option<String>,
    search: Option<String>,
    since: Option<String>,
    until: Option<String>,
    job: Option<String>,
) -> Result<engine::model::ErrorFilter, AppError> {
    use engine::model::{ErrorFilter, SyncErrorKind, parse_time};
    let given = |text: Option<String>| text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
    let kind = match given(kind) {
        None => None,
        Some(text) => Some(SyncErrorKind::parse(&text).ok_or_else(|| {
            invalid(
                "kind",
                format!(
                    "{text:?} is not a kind: update_conflict, deleted_local, deleted_integration or failed"
                ),
            )
        })?),
    };
    let time = |field: &str, text: Option<String>, end_of_day: bool| match given(text) {
        None => Ok(None),
        Some(text) => parse_time(&text)
            .map(|ms| {
                // A bare date as the end of a range includes that whole day.
                if end_of_day && !text.contains('T') {
                    ms + 86_400_000
                } else {
                    ms
                }
            })
            .map(Some)
            .ok_or_else(|| {
                invalid(
                    field,
                    format!("{text:?} is not a date (2026-11-27 or 2026-11-27T05:42)"),
                )
            }),
    };
    Ok(ErrorFilter {
        job: number(job, "job", "a job's id")?,
        mapping: given(mapping),
        kind,
        text: text(search, "search")?,
        since: time("since", since, false)?,
        until: time("until", until, true)?,
    })
}
