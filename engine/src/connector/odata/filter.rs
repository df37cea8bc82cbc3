//! A table's [`Filter`] as an OData `$filter` expression that holds for exactly the
//! records the same filter holds for in SQL. OData compares with null in two values
//! (`null ne 'DK'` is true) where SQL has a third (unknown, neither true nor false), so
//! each part is written as where it holds, and a `not` as where its part plainly fails;
//! a record whose value is null thus falls outside `country != 'DK'` and outside
//! `not (country = 'DK')` alike, on either kind of system.

use super::values;
use crate::filter::{Filter, Op};
use crate::value::Value;

/// `filter` as an expression true where it holds; `edm` gives each property's EDM type.
/// `Err` names the first property and literal that cannot be compared: a literal its
/// property's type cannot hold.
pub(super) fn holds<'a>(
    filter: &'a Filter,
    edm: &impl Fn(&str) -> String,
) -> Result<String, (&'a str, &'a Value)> {
    write(filter, edm, true)
}

/// Where `filter` holds (`wanted`), or where it plainly fails (not `wanted`): false, not
/// unknown.
fn write<'a>(
    filter: &'a Filter,
    edm: &impl Fn(&str) -> String,
    wanted: bool,
) -> Result<String, (&'a str, &'a Value)> {
    let literal = |column: &'a str, value: &'a Value| {
        values::literal(&edm(column), value).ok_or((column, value))
    };
    Ok(match filter {
        Filter::And(all) | Filter::Or(all) => {
            // Where an `and` fails, one of its parts does: the joint turns with `wanted`.
            let and = matches!(filter, Filter::And(_)) == wanted;
            let parts = all
                .iter()
                .map(|part| write(part, edm, wanted))
                .collect::<Result<Vec<_>, _>>()?;
            format!("({})", parts.join(if and { " and " } else { " or " }))
        }
        Filter::Not(inner) => write(inner, edm, !wanted)?,
        Filter::Compare { column, op, value } => {
            let op = if wanted { *op } else { negated(*op) };
            let literal = literal(column, value)?;
            match op {
                // `ne` is the one comparison OData answers true for a null.
                Op::Ne => format!("({column} ne {literal} and {column} ne null)"),
                op => format!("{column} {} {literal}", name(op)),
            }
        }
        Filter::In { column, values } => {
            let literals = values
                .iter()
                .map(|value| literal(column, value))
                .collect::<Result<Vec<_>, _>>()?;
            // Written as comparisons, which every service reads (not all know `in`).
            if wanted {
                let each: Vec<String> = literals
                    .iter()
                    .map(|l| format!("{column} eq {l}"))
                    .collect();
                format!("({})", each.join(" or "))
            } else {
                let each: Vec<String> = literals
                    .iter()
                    .map(|l| format!("{column} ne {l}"))
                    .collect();
                format!("({} and {column} ne null)", each.join(" and "))
            }
        }
        Filter::IsNull { column } => {
            format!("{column} {} null", if wanted { "eq" } else { "ne" })
        }
    })
}

/// The comparison that holds where `op` fails, for values that are not null.
fn negated(op: Op) -> Op {
    match op {
        Op::Eq => Op::Ne,
        Op::Ne => Op::Eq,
        Op::Lt => Op::Ge,
        Op::Le => Op::Gt,
        Op::Gt => Op::Le,
        Op::Ge => Op::Lt,
    }
}

/// The comparison as OData names it.
fn name(op: Op) -> &'static str {
    match op {
        Op::Eq => "eq",
        Op::Ne => "ne",
        Op::Lt => "lt",
        Op::Le => "le",
        Op::Gt => "gt",
        Op::Ge => "ge",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn odata(text: &str) -> String {
        let filter = Filter::parse(text).unwrap();
        let edm = |column: &str| match column {
            "creditlimit" => "Edm.Decimal".to_string(),
            "accountid" => "Edm.Guid".to_string(),
            _ => "Edm.String".to_string(),
        };
        holds(&filter, &edm)
            .map_err(|(c, v)| format!("{c}: {v}"))
            .unwrap()
    }

    #[test]
    fn a_filter_is_written_as_odata_with_sql_nulls() {
        assert_eq!(
            odata("city = 'Aarhus' and creditlimit > 100"),
            "(city eq 'Aarhus' and creditlimit gt 100)"
        );
        assert_eq!(odata("city != 'Oslo'"), "(city ne 'Oslo' and city ne null)");
        assert_eq!(
            odata("not (city = 'Oslo')"),
            "(city ne 'Oslo' and city ne null)"
        );
        assert_eq!(odata("not city != 'Oslo'"), "city eq 'Oslo'");
        assert_eq!(
            odata("not (city = 'Oslo' or creditlimit <= 5)"),
            "((city ne 'Oslo' and city ne null) and creditlimit gt 5)"
        );
        assert_eq!(
            odata("city in ('DK', 'O''Brien')"),
            "(city eq 'DK' or city eq 'O''Brien')"
        );
        assert_eq!(
            odata("not city in ('DK')"),
            "(city ne 'DK' and city ne null)"
        );
        assert_eq!(odata("not city is null"), "city ne null");
    }

    #[test]
    fn a_literal_its_property_cannot_hold_is_named() {
        let filter = Filter::parse("creditlimit > 'lots'").unwrap();
        let edm = |_: &str| "Edm.Decimal".to_string();
        assert_eq!(
            holds(&filter, &edm),
            Err(("creditlimit", &Value::Text("lots".into())))
        );
    }
}
