//! What arrives from a form or the API, parsed once at the edge: text fields trimmed and
//! bounded, numbers, sides and named choices, and pages asked one longer than shown. A
//! refusal names its field and sets the response's status.

use crate::error::AppError;
use engine::model::Side;

/// The longest text a filter or key field takes.
pub const MAX_TEXT: usize = 200;

/// An input refused, with the response status set.
pub fn invalid(field: &str, message: String) -> AppError {
    crate::error::fail(AppError::Invalid {
        field: field.into(),
        message,
    })
}

/// A text field trimmed; empty is none; longer than [`MAX_TEXT`], or holding a control
/// character (a NUL ends a search in the store), is refused.
pub fn text(value: Option<String>, field: &str) -> Result<Option<String>, AppError> {
    let value = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    if value.as_ref().is_some_and(|v| v.chars().count() > MAX_TEXT) {
        return Err(invalid(field, format!("at most {MAX_TEXT} characters")));
    }
    if value
        .as_ref()
        .is_some_and(|v| v.chars().any(char::is_control))
    {
        return Err(invalid(field, "no control characters".into()));
    }
    Ok(value)
}

/// A record's key: trimmed, 1 to [`MAX_TEXT`] characters.
pub fn key<'a>(value: &'a str, field: &str) -> Result<&'a str, AppError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > MAX_TEXT {
        return Err(invalid(
            field,
            format!("a key of 1 to {MAX_TEXT} characters"),
        ));
    }
    Ok(value)
}

/// A whole number naming `what` (`a job's id`), when given.
pub fn number(value: Option<String>, field: &str, what: &str) -> Result<Option<i64>, AppError> {
    match text(value, field)? {
        None => Ok(None),
        Some(text) => text
            .parse()
            .map(Some)
            .map_err(|_| invalid(field, format!("{text:?} is not {what}"))),
    }
}

/// A side (`local` or `integration`), when given.
pub fn side(value: Option<String>, field: &str) -> Result<Option<Side>, AppError> {
    match value.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(text) => Side::parse(text).map(Some).ok_or_else(|| {
            invalid(
                field,
                format!("{text:?} is not a side: local or integration"),
            )
        }),
    }
}

/// One of a set of named choices, read by `parse`; refused as not being `what`.
pub fn choice<T>(
    value: &str,
    field: &str,
    parse: impl FnOnce(&str) -> Option<T>,
    what: &str,
) -> Result<T, AppError> {
    parse(value).ok_or_else(|| invalid(field, format!("{value:?} is not {what}")))
}

/// A page of `items` asked for one more than `limit`: cut to `limit`, answering the
/// cursor of its last item when another page follows.
pub fn more<T, C>(items: &mut Vec<T>, limit: usize, cursor: impl Fn(&T) -> C) -> Option<C> {
    if items.len() <= limit {
        return None;
    }
    items.truncate(limit);
    items.last().map(cursor)
}

/// Where to go after signing in: `next` when it is a path of this console (printable
/// characters only, no scheme, no host, no backslash, not the sign-in page itself),
/// else the overview. A link to the sign-in page can send no one elsewhere.
pub fn next_path(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/login")
                && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}
