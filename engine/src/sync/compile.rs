//! A mapping compiled against its two tables, and how one field's value crosses to the
//! other side: constant, lookup, value map, validation. Pure (no store, no connector), so
//! the merge in [`super::merge`] and the actions on the errors page share it.

use crate::config::{FieldMapping, Mapping};
use crate::connector::{Record, TableSpec};
use crate::model::Side;
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
                modified_kind: Default::default(),
                modified_unit: table.modified_unit,
                time_zone: None,
                kinds: Vec::new(),
                types: Vec::new(),
                columns,
                key_kind: crate::value::ColumnKind::Text,
                tombstones,
                filter: table.filter.as_deref().map(|text| {
                    crate::filter::Filter::parse(text)
                        .expect("filters are parsed when the configuration loads")
                }),
                filter_kinds: Vec::new(),
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
pub(super) mod fixture {
    //! A customer mapping with a length limit, a field that flows one way and a value
    //! map, and its records as both sides last agreed on them; the merge's tests use it
    //! too.

    use super::*;
    use crate::config::Config;
    use crate::value::ColumnKind;
    use std::path::Path;

    pub(in crate::sync) fn compiled(policy: &str) -> Compiled {
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

    pub(in crate::sync) fn record(key: &str, values: [&str; 4]) -> Record {
        Record {
            key: key.into(),
            modified: 1,
            values: values.iter().map(|v| Value::from(*v)).collect(),
        }
    }

    pub(in crate::sync) fn base(c: &Compiled, local: [&str; 4], integration: [&str; 4]) -> Base {
        c.snapshot(&record("L", local), &record("I", integration))
    }

    pub(in crate::sync) const SYNCED_L: [&str; 4] = ["Ann", "Oslo", "100", "PCS"];
    pub(in crate::sync) const SYNCED_I: [&str; 4] = ["Ann", "Oslo", "100", "Each"];
}

#[cfg(test)]
mod tests {
    use super::fixture::{SYNCED_I, SYNCED_L, compiled, record};
    use super::*;

    #[test]
    fn a_value_crosses_through_the_value_map_both_ways() {
        let c = compiled("none");
        let none = Lookups::new();
        let unit = 3;
        assert_eq!(
            transfer(&c, unit, Side::Local, &record("L", SYNCED_L), &none),
            Ok(Value::from("Each"))
        );
        assert_eq!(
            transfer(&c, unit, Side::Integration, &record("I", SYNCED_I), &none),
            Ok(Value::from("PCS"))
        );
        assert_eq!(
            transfer(
                &c,
                unit,
                Side::Integration,
                &record("I", ["Ann", "Oslo", "100", "Box"]),
                &none
            ),
            Err(Blocked::Fail(
                r#"unit "Box" has no entry in the value map for customer.unit"#.into()
            ))
        );
    }

    #[test]
    fn a_value_too_long_for_the_other_side_is_refused() {
        let c = compiled("none");
        let long = record("L", ["Annabella Bergström", "Oslo", "100", "PCS"]);
        assert_eq!(
            transfer(&c, 0, Side::Local, &long, &Lookups::new()),
            Err(Blocked::Fail(
                "name is 19 characters long; account.name takes at most 10".into()
            ))
        );
    }

    #[test]
    fn a_new_record_gets_only_the_fields_that_flow_its_way() {
        let c = compiled("none");
        let none = Lookups::new();
        let to_integration = create_values(&c, Side::Local, &record("L", SYNCED_L), &none);
        assert_eq!(
            to_integration,
            Ok(vec![
                (0, Value::from("Ann")),
                (1, Value::from("Oslo")),
                (2, Value::from("100")),
                (3, Value::from("Each")),
            ])
        );
        // The credit limit flows to the integration table only.
        let to_local = create_values(&c, Side::Integration, &record("I", SYNCED_I), &none);
        assert_eq!(
            to_local,
            Ok(vec![
                (0, Value::from("Ann")),
                (1, Value::from("Oslo")),
                (3, Value::from("PCS")),
            ])
        );
        let created = new_record(&c.local, "C1", &to_local.unwrap(), 7);
        assert_eq!(
            created.values,
            [
                Value::from("Ann"),
                Value::from("Oslo"),
                Value::Null,
                Value::from("PCS")
            ]
        );
        assert_eq!((created.key.as_str(), created.modified), ("C1", 7));
    }
}
