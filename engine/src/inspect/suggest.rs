//! A `[[mapping]]` block for `coupler.toml`, proposed from two tables: keys and
//! modified-on columns from their catalogues, fields paired by name and kind. It is a
//! starting point for a person to edit, and says what it could not decide.

use super::TableReport;
use crate::connector::ColumnShape;
use crate::value::ColumnKind;
use std::fmt::Write;

/// Words that name the same thing in different systems, each with the word it becomes.
const SYNONYMS: &[(&str, &str)] = &[
    ("telephone", "phone"),
    ("mobile", "phone"),
    ("emailaddress", "email"),
    ("mail", "email"),
    ("fullname", "name"),
    ("description", "name"),
    ("zip", "postcode"),
    ("postalcode", "postcode"),
    ("uom", "unit"),
];

/// The mapping block for `local` and `integration`, as TOML with comments.
pub fn suggest_mapping(local: &TableReport, integration: &TableReport) -> String {
    let mut out = String::new();
    let name = local.shape.table.to_uppercase();
    let _ = writeln!(
        out,
        "# Suggested from {}:{} and {}:{}: check every line before using it.",
        local.system, local.shape.table, integration.system, integration.shape.table
    );
    let _ = writeln!(out, "[[mapping]]");
    let _ = writeln!(out, "name = {name:?}");
    let _ = writeln!(out, "direction = \"bidirectional\"");
    for (side, table) in [("local", local), ("integration", integration)] {
        let _ = writeln!(out, "{side} = {}", side_table(table));
    }
    let (pairs, unpaired) = pair_fields(local, integration);
    for (l, i) in &pairs {
        let _ = writeln!(
            out,
            "\n[[mapping.field]]\nlocal = {:?}\nintegration = {:?}",
            l.name, i.name
        );
    }
    for (side, columns) in [("local", &unpaired.0), ("integration", &unpaired.1)] {
        if !columns.is_empty() {
            let _ = writeln!(out, "\n# Not paired ({side}): {}", columns.join(", "));
        }
    }
    out
}

/// `{ system = …, table = …, key = …, modified = … }`, with a comment where the
/// catalogue did not tell.
fn side_table(table: &TableReport) -> String {
    let key = table.key.as_deref().unwrap_or("?");
    let modified = table
        .modified_candidates
        .first()
        .map_or("?", String::as_str);
    let mut line = format!(
        "{{ system = {:?}, table = {:?}, key = {key:?}, modified = {modified:?} }}",
        table.system, table.shape.table
    );
    if table.key.is_none() {
        line.push_str("  # no one-column primary key: name the key column");
    } else if table.modified_candidates.is_empty() {
        line.push_str("  # no modified-on column found: name the one the system keeps");
    } else if table.modified_candidates.len() > 1 {
        let _ = write!(line, "  # or {}", table.modified_candidates[1..].join(", "));
    }
    line
}

type Unpaired = (Vec<String>, Vec<String>);

/// The data columns of both tables paired, best matches first, and those left over.
fn pair_fields<'a>(
    local: &'a TableReport,
    integration: &'a TableReport,
) -> (Vec<(&'a ColumnShape, &'a ColumnShape)>, Unpaired) {
    let data = |table: &'a TableReport| -> Vec<&'a ColumnShape> {
        table
            .shape
            .columns
            .iter()
            .filter(|c| {
                Some(&c.name) != table.key.as_ref()
                    && table.modified_candidates.first() != Some(&c.name)
                    && c.kind.is_some()
            })
            .collect()
    };
    let (locals, integrations) = (data(local), data(integration));
    let mut scored = Vec::new();
    for (li, l) in locals.iter().enumerate() {
        for (ii, i) in integrations.iter().enumerate() {
            if let Some(score) = score(l, i) {
                scored.push((score, li, ii));
            }
        }
    }
    // Best first; among equals, in the local table's order.
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let (mut local_taken, mut integration_taken) =
        (vec![false; locals.len()], vec![false; integrations.len()]);
    let mut pairs = Vec::new();
    for (_, li, ii) in scored {
        if !local_taken[li] && !integration_taken[ii] {
            local_taken[li] = true;
            integration_taken[ii] = true;
            pairs.push((li, ii));
        }
    }
    pairs.sort();
    let left = |columns: &[&ColumnShape], taken: &[bool]| {
        columns
            .iter()
            .zip(taken)
            .filter(|(_, taken)| !**taken)
            .map(|(c, _)| c.name.clone())
            .collect()
    };
    let unpaired = (
        left(&locals, &local_taken),
        left(&integrations, &integration_taken),
    );
    let pairs = pairs
        .into_iter()
        .map(|(li, ii)| (locals[li], integrations[ii]))
        .collect();
    (pairs, unpaired)
}

/// How well two columns match, higher better; `None`: not at all. The same name (case,
/// `_` and digits aside) scores 4, the same after synonyms 3, one's last word being the
/// other's whole name 2, one's whole name being a word of the other's 1. Kinds must agree,
/// but text takes any.
fn score(local: &ColumnShape, integration: &ColumnShape) -> Option<u8> {
    let kinds_agree = local.kind == integration.kind
        || local.kind == Some(ColumnKind::Text)
        || integration.kind == Some(ColumnKind::Text);
    if !kinds_agree {
        return None;
    }
    let (l, i) = (words(&local.name), words(&integration.name));
    let (lj, ij) = (l.concat(), i.concat());
    if lj == ij {
        return Some(4);
    }
    if synonym(&lj) == synonym(&ij) {
        return Some(3);
    }
    let ends_with =
        |w: &[String], whole: &str| w.last().is_some_and(|last| synonym(last) == synonym(whole));
    if ends_with(&l, &ij) || ends_with(&i, &lj) {
        return Some(2);
    }
    let within = |whole: &str, w: &[String]| w.iter().any(|word| synonym(word) == synonym(whole));
    (within(&lj, &i) || within(&ij, &l)).then_some(1)
}

/// A column name's words, lower case: split at `_`, `-`, spaces and digits.
fn words(name: &str) -> Vec<String> {
    name.split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn synonym(word: &str) -> &str {
    SYNONYMS
        .iter()
        .find(|(from, _)| *from == word)
        .map_or(word, |(_, to)| to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(name: &str) -> ColumnShape {
        ColumnShape {
            name: name.to_string(),
            declared: "text".to_string(),
            kind: Some(ColumnKind::Text),
            nullable: true,
            primary_key: false,
            orders_changes: false,
        }
    }

    #[test]
    fn names_match_by_words_and_synonyms() {
        assert_eq!(score(&text("credit_limit"), &text("creditlimit")), Some(4));
        assert_eq!(score(&text("phone"), &text("telephone1")), Some(3));
        assert_eq!(score(&text("email"), &text("emailaddress1")), Some(3));
        assert_eq!(score(&text("city"), &text("address1_city")), Some(2));
        assert_eq!(score(&text("address"), &text("address1_line1")), Some(1));
        assert_eq!(score(&text("city"), &text("name")), None);
    }
}
