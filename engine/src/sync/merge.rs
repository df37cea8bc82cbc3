//! The three-way merge, pure: what to do with one coupled pair whose source record
//! changed, field by field against the base snapshot of their last synchronization
//! ([`decide`]), and the writes that settle a pair the way someone chose on the errors
//! page ([`resolve`]). How each value crosses is [`super::compile`]'s.

use super::compile::{Blocked, Compiled, Lookups, Writes, transfer};
use crate::connector::Record;
use crate::model::{Resolution, Side, UpdateConflictPolicy};
use crate::store::coupling::Base;
use crate::value::Value;

/// What to do with a coupled pair whose source record changed.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Nothing to write: only unmapped fields changed, or both sides agree.
    Unchanged,
    /// Write these values: to the other record and back to the source record.
    Write {
        /// `(position, value)` for the other side's record.
        to_other: Vec<(usize, Value)>,
        /// `(position, value)` for the source side's record (merged changes of the other side).
        to_source: Vec<(usize, Value)>,
    },
    /// Both sides changed these fields differently and the policy says nothing wins.
    Conflict {
        /// The conflicting fields, by name.
        fields: Vec<String>,
        /// The two values of each, in plain words.
        message: String,
    },
    /// The record cannot be synchronized now.
    Blocked(Blocked),
}

/// What a pair's values are compared with to tell which side changed.
#[derive(Clone, Copy, Debug)]
pub enum Since<'a> {
    /// The values of the pair's last synchronization.
    Base(&'a Base),
    /// A pair coupled just now, with no synchronization behind it: every value of the
    /// side named counts as changed, and none of the other's (neither side's when none
    /// is named: both records stay as they are).
    Coupled(Option<Side>),
}

/// Decides a coupled pair: `source` on `from` changed; `other` is the record on the other
/// side, changed since the last synchronization when `other_changed` (a pair coupled
/// just now has no last synchronization: `since` says which side's values win).
pub fn decide(
    compiled: &Compiled,
    from: Side,
    source: &Record,
    other: &Record,
    since: Since<'_>,
    other_changed: bool,
    lookups: &Lookups,
) -> Decision {
    let to = from.other();
    let changed = |side: Side, record: &Record, position: Option<usize>| -> bool {
        let Some(position) = position else {
            return false;
        };
        match since {
            Since::Base(base) => {
                let column = &compiled.spec(side).columns[position];
                base.side(side).get(column) != Some(&record.values[position])
            }
            Since::Coupled(winner) => winner == Some(side),
        }
    };
    let other_changed = other_changed || matches!(since, Since::Coupled(_));
    let mut to_other = Vec::new();
    let mut to_source = Vec::new();
    let mut conflicts: Vec<(usize, Value, Value)> = Vec::new();
    for (i, f) in compiled.fields.iter().enumerate() {
        let (s_pos, o_pos) = (f.position(from), f.position(to));
        // A constant is written when the record is created, not on every change.
        let (Some(s_pos), Some(o_pos)) = (s_pos, o_pos) else {
            continue;
        };
        let s_changed = changed(from, source, Some(s_pos));
        let o_changed = other_changed && changed(to, other, Some(o_pos));
        let (forward, backward) = (f.field.flows_from(from), f.field.flows_from(to));
        match (s_changed, o_changed) {
            (false, false) => {}
            (true, false) => {
                if forward {
                    match transfer(compiled, i, from, source, lookups) {
                        Ok(want) if want != other.values[o_pos] => to_other.push((o_pos, want)),
                        Ok(_) => {}
                        Err(blocked) => return Decision::Blocked(blocked),
                    }
                }
            }
            (false, true) => {
                if backward {
                    match transfer(compiled, i, to, other, lookups) {
                        Ok(back) if back != source.values[s_pos] => to_source.push((s_pos, back)),
                        Ok(_) => {}
                        Err(blocked) => return Decision::Blocked(blocked),
                    }
                }
            }
            (true, true) => {
                let want = if forward {
                    Some(transfer(compiled, i, from, source, lookups))
                } else {
                    None
                };
                let back = if backward {
                    Some(transfer(compiled, i, to, other, lookups))
                } else {
                    None
                };
                match (want, back) {
                    (Some(Err(blocked)), _) | (_, Some(Err(blocked))) => {
                        return Decision::Blocked(blocked);
                    }
                    (Some(Ok(want)), _) if want == other.values[o_pos] => {}
                    (_, Some(Ok(back))) if back == source.values[s_pos] => {}
                    (Some(Ok(want)), Some(Ok(back))) => conflicts.push((i, want, back)),
                    (Some(Ok(want)), None) => to_other.push((o_pos, want)),
                    (None, Some(Ok(back))) => to_source.push((s_pos, back)),
                    (None, None) => {}
                }
            }
        }
    }
    if !conflicts.is_empty() {
        let winner = match compiled.mapping.update_conflict {
            UpdateConflictPolicy::None => None,
            UpdateConflictPolicy::SendUpdate => Some(Side::Local),
            UpdateConflictPolicy::GetUpdate => Some(Side::Integration),
        };
        match winner {
            Some(winner) => {
                for (i, want, back) in conflicts {
                    let f = &compiled.fields[i];
                    if winner == from {
                        to_other.push((f.position(to).unwrap_or_default(), want));
                    } else {
                        to_source.push((f.position(from).unwrap_or_default(), back));
                    }
                }
            }
            None => {
                let fields: Vec<String> = conflicts
                    .iter()
                    .map(|(i, ..)| compiled.fields[*i].name().to_string())
                    .collect();
                let detail: Vec<String> = conflicts
                    .iter()
                    .map(|(i, _, _)| {
                        let f = &compiled.fields[*i];
                        let (local, integration) = match from {
                            Side::Local => (source, other),
                            Side::Integration => (other, source),
                        };
                        format!(
                            "{}: local {}, integration {}",
                            f.name(),
                            f.local
                                .map(|p| local.values[p].to_string())
                                .unwrap_or_default(),
                            f.integration
                                .map(|p| integration.values[p].to_string())
                                .unwrap_or_default(),
                        )
                    })
                    .collect();
                return Decision::Conflict {
                    fields,
                    message: format!(
                        "Both records changed since the last synchronization ({})",
                        detail.join("; ")
                    ),
                };
            }
        }
    }
    if to_other.is_empty() && to_source.is_empty() {
        Decision::Unchanged
    } else {
        Decision::Write {
            to_other,
            to_source,
        }
    }
}

/// The writes that resolve a coupled pair as someone chose (Synchronize on the errors
/// page): `(to_local, to_integration)`, or why the choice cannot be applied.
pub fn resolve(
    compiled: &Compiled,
    local: &Record,
    integration: &Record,
    base: Option<&Base>,
    resolution: &Resolution,
    lookups: &Lookups,
) -> Result<(Writes, Writes), String> {
    let one_side = |winner: Side| -> Result<Vec<(usize, Value)>, String> {
        let (source, other) = match winner {
            Side::Local => (local, integration),
            Side::Integration => (integration, local),
        };
        let mut writes = Vec::new();
        for (i, f) in compiled.fields.iter().enumerate() {
            let (Some(_), Some(o_pos)) = (f.position(winner), f.position(winner.other())) else {
                continue;
            };
            if !f.field.flows_from(winner) {
                continue;
            }
            match transfer(compiled, i, winner, source, lookups) {
                Ok(value) if value != other.values[o_pos] => writes.push((o_pos, value)),
                Ok(_) => {}
                Err(Blocked::Fail(message) | Blocked::Defer(message)) => return Err(message),
            }
        }
        Ok(writes)
    };
    let merged = |policy: UpdateConflictPolicy| -> Result<Decision, String> {
        let mut with_policy = compiled.clone();
        with_policy.mapping.update_conflict = policy;
        let since = base.map_or(Since::Coupled(Some(Side::Local)), Since::Base);
        match decide(
            &with_policy,
            Side::Local,
            local,
            integration,
            since,
            true,
            lookups,
        ) {
            Decision::Blocked(Blocked::Fail(message) | Blocked::Defer(message)) => Err(message),
            decision => Ok(decision),
        }
    };
    let writes = |decision: Decision| match decision {
        Decision::Write {
            to_other,
            to_source,
        } => (to_source, to_other),
        _ => (Vec::new(), Vec::new()),
    };
    match resolution {
        Resolution::Local => Ok((Vec::new(), one_side(Side::Local)?)),
        Resolution::Integration => Ok((one_side(Side::Integration)?, Vec::new())),
        Resolution::Merge => match merged(UpdateConflictPolicy::None)? {
            Decision::Conflict { fields, .. } => Err(format!(
                "{} changed on both sides: choose a side, or a side per field",
                fields.join(", ")
            )),
            decision => Ok(writes(decision)),
        },
        Resolution::Fields(choices) => {
            let conflicting = match merged(UpdateConflictPolicy::None)? {
                Decision::Conflict { fields, .. } => fields,
                decision => return Ok(writes(decision)),
            };
            if let Some(missing) = conflicting.iter().find(|f| !choices.contains_key(*f)) {
                return Err(format!("choose a side for {missing}"));
            }
            // Merge with the local side winning, then hand the fields chosen for the
            // integration side back to it.
            let (mut to_local, mut to_integration) =
                writes(merged(UpdateConflictPolicy::SendUpdate)?);
            for (i, f) in compiled.fields.iter().enumerate() {
                if choices.get(f.name()) != Some(&Side::Integration)
                    || !conflicting.iter().any(|c| c == f.name())
                {
                    continue;
                }
                let (Some(l_pos), Some(i_pos)) = (f.local, f.integration) else {
                    continue;
                };
                to_integration.retain(|(p, _)| *p != i_pos);
                match transfer(compiled, i, Side::Integration, integration, lookups) {
                    Ok(value) if value != local.values[l_pos] => to_local.push((l_pos, value)),
                    Ok(_) => {}
                    Err(Blocked::Fail(message) | Blocked::Defer(message)) => return Err(message),
                }
            }
            Ok((to_local, to_integration))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::compile::fixture::{SYNCED_I, SYNCED_L, base, compiled, record};

    #[test]
    fn a_change_on_one_side_is_applied_to_the_other() {
        let c = compiled("none");
        let b = base(&c, SYNCED_L, SYNCED_I);
        let local = record("L", ["Ann", "Bergen", "100", "PCS"]);
        let integration = record("I", SYNCED_I);
        let d = decide(
            &c,
            Side::Local,
            &local,
            &integration,
            Since::Base(&b),
            false,
            &Lookups::new(),
        );
        assert_eq!(
            d,
            Decision::Write {
                to_other: vec![(1, Value::from("Bergen"))],
                to_source: vec![]
            }
        );
    }

    #[test]
    fn different_fields_changed_on_both_sides_merge() {
        let c = compiled("none");
        let b = base(&c, SYNCED_L, SYNCED_I);
        let local = record("L", ["Ann", "Bergen", "100", "PCS"]);
        let integration = record("I", ["Anna", "Oslo", "100", "Each"]);
        let d = decide(
            &c,
            Side::Local,
            &local,
            &integration,
            Since::Base(&b),
            true,
            &Lookups::new(),
        );
        assert_eq!(
            d,
            Decision::Write {
                to_other: vec![(1, Value::from("Bergen"))],
                to_source: vec![(0, Value::from("Anna"))]
            }
        );
    }

    #[test]
    fn the_same_field_changed_differently_is_a_conflict_unless_a_side_wins() {
        let local = record("L", ["Ann", "Bergen", "100", "PCS"]);
        let integration = record("I", ["Ann", "Tromsø", "100", "Each"]);
        let c = compiled("none");
        let b = base(&c, SYNCED_L, SYNCED_I);
        match decide(
            &c,
            Side::Local,
            &local,
            &integration,
            Since::Base(&b),
            true,
            &Lookups::new(),
        ) {
            Decision::Conflict { fields, message } => {
                assert_eq!(fields, ["city"]);
                assert!(
                    message.contains(r#"city: local "Bergen", integration "Tromsø""#),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        let c = compiled("send_update");
        let d = decide(
            &c,
            Side::Local,
            &local,
            &integration,
            Since::Base(&b),
            true,
            &Lookups::new(),
        );
        assert_eq!(
            d,
            Decision::Write {
                to_other: vec![(1, Value::from("Bergen"))],
                to_source: vec![]
            }
        );
        let c = compiled("get_update");
        let d = decide(
            &c,
            Side::Local,
            &local,
            &integration,
            Since::Base(&b),
            true,
            &Lookups::new(),
        );
        assert_eq!(
            d,
            Decision::Write {
                to_other: vec![],
                to_source: vec![(1, Value::from("Tromsø"))]
            }
        );
    }

    #[test]
    fn both_sides_changing_a_field_to_the_same_value_agree() {
        let c = compiled("none");
        let b = base(&c, SYNCED_L, SYNCED_I);
        let local = record("L", ["Ann", "Bergen", "100", "PCS"]);
        let integration = record("I", ["Ann", "Bergen", "100", "Each"]);
        let d = decide(
            &c,
            Side::Local,
            &local,
            &integration,
            Since::Base(&b),
            true,
            &Lookups::new(),
        );
        assert_eq!(d, Decision::Unchanged);
    }

    #[test]
    fn changes_against_a_fields_direction_change_nothing() {
        let c = compiled("none");
        let b = base(&c, SYNCED_L, SYNCED_I);
        let local = record("L", SYNCED_L);
        let integration = record("I", ["Ann", "Oslo", "999", "Each"]);
        let d = decide(
            &c,
            Side::Integration,
            &integration,
            &local,
            Since::Base(&b),
            false,
            &Lookups::new(),
        );
        assert_eq!(d, Decision::Unchanged);
    }

    #[test]
    fn a_conflict_resolves_by_side_by_field_or_not_by_merge() {
        let c = compiled("none");
        let b = base(&c, SYNCED_L, SYNCED_I);
        let local = record("L", ["Ann", "Bergen", "100", "PCS"]);
        let integration = record("I", ["Anna", "Tromsø", "100", "Each"]);
        let none = Lookups::new();
        let by_local = resolve(
            &c,
            &local,
            &integration,
            Some(&b),
            &Resolution::Local,
            &none,
        )
        .unwrap();
        assert_eq!(
            by_local,
            (
                vec![],
                vec![(0, Value::from("Ann")), (1, Value::from("Bergen"))]
            )
        );
        let by_integration = resolve(
            &c,
            &local,
            &integration,
            Some(&b),
            &Resolution::Integration,
            &none,
        )
        .unwrap();
        assert_eq!(
            by_integration,
            (
                vec![(0, Value::from("Anna")), (1, Value::from("Tromsø"))],
                vec![]
            )
        );
        let merge = resolve(
            &c,
            &local,
            &integration,
            Some(&b),
            &Resolution::Merge,
            &none,
        )
        .unwrap_err();
        assert_eq!(
            merge,
            "city changed on both sides: choose a side, or a side per field"
        );
        let choices = [("city".to_string(), Side::Integration)]
            .into_iter()
            .collect();
        let by_field = resolve(
            &c,
            &local,
            &integration,
            Some(&b),
            &Resolution::Fields(choices),
            &none,
        )
        .unwrap();
        assert_eq!(
            by_field,
            (
                vec![(0, Value::from("Anna")), (1, Value::from("Tromsø"))],
                vec![]
            )
        );
        let choices = [("city".to_string(), Side::Local)].into_iter().collect();
        let by_field = resolve(
            &c,
            &local,
            &integration,
            Some(&b),
            &Resolution::Fields(choices),
            &none,
        )
        .unwrap();
        assert_eq!(
            by_field,
            (
                vec![(0, Value::from("Anna"))],
                vec![(1, Value::from("Bergen"))]
            )
        );
    }

    #[test]
    fn values_are_mapped_both_ways_and_validated() {
        let c = compiled("none");
        let b = base(&c, SYNCED_L, SYNCED_I);
        let local = record("L", SYNCED_L);
        let integration = record("I", ["Ann", "Oslo", "100", "Box"]);
        let d = decide(
            &c,
            Side::Integration,
            &integration,
            &local,
            Since::Base(&b),
            false,
            &Lookups::new(),
        );
        match d {
            Decision::Blocked(Blocked::Fail(message)) => {
                assert_eq!(
                    message,
                    r#"unit "Box" has no entry in the value map for customer.unit"#
                )
            }
            other => panic!("{other:?}"),
        }
        let long = record("L", ["Annabella Bergström", "Oslo", "100", "PCS"]);
        let d = decide(
            &c,
            Side::Local,
            &long,
            &record("I", SYNCED_I),
            Since::Base(&b),
            false,
            &Lookups::new(),
        );
        assert_eq!(
            d,
            Decision::Blocked(Blocked::Fail(
                "name is 19 characters long; account.name takes at most 10".into()
            ))
        );
    }
}
