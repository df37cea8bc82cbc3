//! The pure part of synchronization: a mapping compiled against its two tables, how one
//! field's value crosses to the other side (value map, lookup, validation), and what to
//! do with one coupled pair of records — the three-way merge against the base.

use crate::config::{FieldMapping, Mapping};
use crate::connector::{Record, TableSpec};
use crate::model::{Resolution, Side, UpdateConflictPolicy};
use crate::store::coupling::Base;
use crate::value::Value;
use std::collections::BTreeMap;

/// A mapping with each field's column positions in the two tables' specs.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// The mapping as configured.
    pub mapping: Mapping,
    /// The local table, checked.
    pub local: TableSpec,
    /// The integration table, checked.
    pub integration: TableSpec,
    /// The fields, in configuration order.
    pub fields: Vec<CompiledField>,
}

/// A field mapping with its column positions.
#[derive(Clone, Debug)]
pub struct CompiledField {
    /// The field mapping.
    pub field: FieldMapping,
    /// Position in the local spec's columns.
    pub local: Option<usize>,
    /// Position in the integration spec's columns.
    pub integration: Option<usize>,
}

impl CompiledField {
    /// Position on `side`.
    pub fn position(&self, side: Side) -> Option<usize> {
        match side {
            Side::Local => self.local,
            Side::Integration => self.integration,
        }
    }

    /// The column name on `side`, or the other side's, for messages.
    pub fn name(&self) -> &str {
        self.field
            .local
            .as_deref()
            .or(self.field.integration.as_deref())
            .unwrap_or_default()
    }
}

impl Compiled {
    /// A readable description of `record` on `side`: the value of the first field that is
    /// neither a lookup nor a constant (the name, in most mappings), when it has one.
    pub fn describe(&self, side: Side, record: &Record) -> Option<String> {
        self.fields
            .iter()
            .filter(|f| f.field.lookup.is_none() && f.field.constant.is_none())
            .find_map(|f| f.position(side))
            .map(|position| record.values[position].as_text())
            .filter(|text| !text.is_empty())
    }

    /// Lays out the specs' columns from `mapping`'s fields. Kinds are filled in when the
    /// connectors check the tables.
    pub fn new(mapping: Mapping, tombstones: [Option<String>; 2]) -> Compiled {
        let [local_tombstones, integration_tombstones] = tombstones;
        let spec = |side: Side, tombstones: Option<String>| {
            let table = mapping.table(side);
            let mut columns: Vec<String> = Vec::new();
            for f in &mapping.fields {
                if let Some(column) = f.column(side)
                    && !columns.iter().any(|c| c == column)
                {
                    columns.push(column.to_string());
                }
            }
            TableSpec {
                table: table.table.clone(),
                key: table.key.clone(),
                modified: table.modified.clone(),
                kinds: Vec::new(),
                columns,
                key_kind: crate::value::ColumnKind::Text,
                tombstones,
            }
        };
        let local = spec(Side::Local, local_tombstones);
        let integration = spec(Side::Integration, integration_tombstones);
        let fields = mapping
            .fields
            .iter()
            .map(|f| CompiledField {
                field: f.clone(),
                local: f.local.as_deref().and_then(|c| local.position(c)),
                integration: f
                    .integration
                    .as_deref()
                    .and_then(|c| integration.position(c)),
            })
            .collect();
        Compiled {
            mapping,
            local,
            integration,
            fields,
        }
    }

    /// The spec of `side`.
    pub fn spec(&self, side: Side) -> &TableSpec {
        match side {
            Side::Local => &self.local,
            Side::Integration => &self.integration,
        }
    }

    /// The spec of `side`, to fill in.
    pub fn spec_mut(&mut self, side: Side) -> &mut TableSpec {
        match side {
            Side::Local => &mut self.local,
            Side::Integration => &mut self.integration,
        }
    }

    /// The snapshot of both records' values, the base of the next merge.
    pub fn snapshot(&self, local: &Record, integration: &Record) -> Base {
        let side = |spec: &TableSpec, record: &Record| -> BTreeMap<String, Value> {
            spec.columns
                .iter()
                .cloned()
                .zip(record.values.iter().cloned())
                .collect()
        };
        Base {
            local: side(&self.local, local),
            integration: side(&self.integration, integration),
        }
    }
}

/// Values to write to one record: `(column position, value)`.
pub type Writes = Vec<(usize, Value)>;

/// Lookup translations for one batch: field index → source key → coupled key.
pub type Lookups = BTreeMap<usize, BTreeMap<String, String>>;

/// Why a value cannot cross: the record waits, or it fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Blocked {
    /// A record it refers to is not coupled yet.
    Defer(String),
    /// The value is refused.
    Fail(String),
}

/// The value field `index` of `source` (a record on `from`) takes on the other side.
pub fn transfer(
    compiled: &Compiled,
    index: usize,
    from: Side,
    source: &Record,
    lookups: &Lookups,
) -> Result<Value, Blocked> {
    let f = &compiled.fields[index];
    let to = from.other();
    let destination = compiled.spec(to);
    let target = f
        .field
        .column(to)
        .map(|c| format!("{}.{}", destination.table, c))
        .unwrap_or_default();
    let mut value = match (&f.field.constant, f.position(from)) {
        (Some(constant), None) => Value::Text(constant.clone()),
        (_, Some(position)) => source.values[position].clone(),
        (None, None) => Value::Null,
    };
    if let Some(parent) = &f.field.lookup
        && !value.is_empty()
    {
        let key = value.as_text();
        match lookups.get(&index).and_then(|m| m.get(&key)) {
            Some(coupled) => value = Value::Text(coupled.clone()),
            None => {
                return Err(Blocked::Defer(format!(
                    "{} {key:?} of mapping {parent} is not coupled yet",
                    f.name()
                )));
            }
        }
    }
    if !f.field.value_map.is_empty() && !value.is_empty() {
        let text = value.as_text();
        let mapped = match from {
            Side::Local => f.field.value_map.get(&text).cloned(),
            Side::Integration => f
                .field
                .value_map
                .iter()
                .find(|(_, v)| **v == text)
                .map(|(k, _)| k.clone()),
        };
        match mapped {
            Some(mapped) => value = Value::Text(mapped),
            None => {
                return Err(Blocked::Fail(format!(
                    "{} {text:?} has no entry in the value map for {target}",
                    f.name()
                )));
            }
        }
    }
    if f.field.required && value.is_empty() {
        return Err(Blocked::Fail(format!(
            "{} is empty, and {target} requires a value",
            f.name()
        )));
    }
    if let Some(max) = f.field.max_length {
        let length = value.as_text().chars().count();
        if length > max as usize {
            return Err(Blocked::Fail(format!(
                "{} is {length} characters long; {target} takes at most {max}",
                f.name()
            )));
        }
    }
    Ok(value)
}

/// The values a new record on the other side gets from `source` (a record on `from`).
pub fn create_values(
    compiled: &Compiled,
    from: Side,
    source: &Record,
    lookups: &Lookups,
) -> Result<Vec<(usize, Value)>, Blocked> {
    let mut values = Vec::new();
    for (i, f) in compiled.fields.iter().enumerate() {
        let Some(position) = f.position(from.other()) else {
            continue;
        };
        if !f.field.flows_from(from) {
            continue;
        }
        values.push((position, transfer(compiled, i, from, source, lookups)?));
    }
    Ok(values)
}

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

/// Decides a coupled pair: `source` on `from` changed; `other` is the record on the other
/// side, changed since the last synchronization when `other_changed`. Without a base (a
/// pair just coupled), every source value counts as changed.
pub fn decide(
    compiled: &Compiled,
    from: Side,
    source: &Record,
    other: &Record,
    base: Option<&Base>,
    other_changed: bool,
    lookups: &Lookups,
) -> Decision {
    let to = from.other();
    let changed = |side: Side, record: &Record, position: Option<usize>| -> bool {
        let Some(position) = position else {
            return false;
        };
        match base {
            Some(base) => {
                let column = &compiled.spec(side).columns[position];
                base.side(side).get(column) != Some(&record.values[position])
            }
            None => side == from,
        }
    };
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
        match decide(
            &with_policy,
            Side::Local,
            local,
            integration,
            base,
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

/// `record` with `writes` applied: what it holds after a successful write.
pub fn applied(record: &Record, writes: &[(usize, Value)], modified: i64) -> Record {
    let mut after = record.clone();
    for (position, value) in writes {
        after.values[*position] = value.clone();
    }
    after.modified = modified;
    after
}

/// A record that does not exist yet, holding `values` (other columns empty).
pub fn new_record(spec: &TableSpec, key: &str, values: &[(usize, Value)], modified: i64) -> Record {
    let mut record = Record {
        key: key.to_string(),
        modified,
        values: vec![Value::Null; spec.columns.len()],
    };
    for (position, value) in values {
        record.values[*position] = value.clone();
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::value::ColumnKind;
    use std::path::Path;

    fn compiled(policy: &str) -> Compiled {
        let text = format!(
            r#"
[systems.erp]
url = "sqlite://erp.db"
[systems.crm]
url = "sqlite://crm.db"
[[mapping]]
name = "CUSTOMER"
update_conflict = "{policy}"
local = {{ system = "erp", table = "customer", key = "no", modified = "m" }}
integration = {{ system = "crm", table = "account", key = "id", modified = "m" }}
[[mapping.field]]
local = "name"
integration = "name"
max_length = 10
[[mapping.field]]
local = "city"
integration = "city"
[[mapping.field]]
local = "limit"
integration = "creditlimit"
direction = "to_integration"
[[mapping.field]]
local = "unit"
integration = "uom"
value_map = {{ PCS = "Each" }}
"#
        );
        let config = Config::parse(Path::new("coupler.toml"), &text).unwrap();
        let mut c = Compiled::new(config.mappings[0].clone(), [None, None]);
        c.local.kinds = vec![ColumnKind::Text; 4];
        c.integration.kinds = vec![ColumnKind::Text; 4];
        c
    }

    fn record(key: &str, values: [&str; 4]) -> Record {
        Record {
            key: key.into(),
            modified: 1,
            values: values.iter().map(|v| Value::from(*v)).collect(),
        }
    }

    fn base(c: &Compiled, local: [&str; 4], integration: [&str; 4]) -> Base {
        c.snapshot(&record("L", local), &record("I", integration))
    }

    const SYNCED_L: [&str; 4] = ["Ann", "Oslo", "100", "PCS"];
    const SYNCED_I: [&str; 4] = ["Ann", "Oslo", "100", "Each"];

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
            Some(&b),
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
            Some(&b),
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
            Some(&b),
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
            Some(&b),
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
            Some(&b),
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
            Some(&b),
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
            Some(&b),
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
            Some(&b),
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
            Some(&b),
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
