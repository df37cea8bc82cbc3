//! [`FieldType`]: what a data column accepts beyond its kind, as the system declares it —
//! at most so many characters, a decimal of so many digits, a boolean, a date, a moment.
//! A value that does not fit fails its record with a message naming the column, before
//! anything of the batch is written.

use crate::value::Value;

/// What a data column accepts beyond its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FieldType {
    /// Whatever its kind holds.
    #[default]
    Any,
    /// Text of at most `max_length` characters.
    Text {
        /// The most characters.
        max_length: u32,
    },
    /// An exact decimal; `precision` digits in all, `scale` of them after the point.
    Decimal {
        /// Digits in all, when the column limits them.
        precision: Option<u32>,
        /// Digits after the point.
        scale: u32,
    },
    /// True or false, held as 1 or 0.
    Boolean,
    /// A date, `YYYY-MM-DD`.
    Date,
    /// A date and time (ISO 8601), without a zone.
    Timestamp,
    /// An instant (ISO 8601 with `Z` or an offset; without one, UTC).
    TimestampTz,
}

impl FieldType {
    /// `value` as the column takes it, or why it cannot: "…, which holds at most 40
    /// characters". Decimals with more digits after the point than the scale are
    /// rounded by the database, as it rounds its own.
    pub fn admit(&self, value: Value) -> Result<Value, String> {
        if value == Value::Null {
            return Ok(value);
        }
        match *self {
            FieldType::Any => Ok(value),
            FieldType::Text { max_length } => {
                let length = value.as_text().chars().count();
                if length <= max_length as usize {
                    Ok(value)
                } else {
                    Err(format!(
                        "which holds at most {max_length} characters (this is {length})"
                    ))
                }
            }
            FieldType::Decimal { precision, scale } => {
                let text = value.as_text();
                let digits = text.trim().trim_start_matches(['-', '+']);
                let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
                let numeric = !digits.is_empty()
                    && whole
                        .chars()
                        .chain(fraction.chars())
                        .all(|c| c.is_ascii_digit());
                if !numeric {
                    return Err("which holds decimal numbers".to_string());
                }
                let whole_digits = whole.trim_start_matches('0').len() as u32;
                match precision {
                    Some(precision) if whole_digits > precision.saturating_sub(scale) => {
                        Err(format!(
                            "which holds decimals of at most {} digits before the point",
                            precision.saturating_sub(scale)
                        ))
                    }
                    _ => Ok(value),
                }
            }
            FieldType::Boolean => match value.as_text().trim().to_lowercase().as_str() {
                "1" | "true" | "yes" => Ok(Value::Int(1)),
                "0" | "false" | "no" => Ok(Value::Int(0)),
                _ => Err("which holds true or false".to_string()),
            },
            FieldType::Date => {
                let text = value.as_text();
                if is_date(text.trim()) {
                    Ok(Value::Text(text.trim().to_string()))
                } else {
                    Err("which holds dates (YYYY-MM-DD)".to_string())
                }
            }
            FieldType::Timestamp | FieldType::TimestampTz => {
                let text = value.as_text();
                let text = text.trim();
                let time = text.get(10..).unwrap_or("");
                let fits = text.len() >= 10
                    && is_date(&text[..10])
                    && (time.is_empty() || is_time(&time[1..]) && matches!(&time[..1], "T" | " "));
                if fits {
                    Ok(Value::Text(text.to_string()))
                } else {
                    Err("which holds dates and times (ISO 8601)".to_string())
                }
            }
        }
    }
}

/// `YYYY-MM-DD`, a real day of a real month.
fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let [year, month, day] = parts[..] else {
        return false;
    };
    let number = |part: &str, width: usize| {
        (part.len() == width && part.chars().all(|c| c.is_ascii_digit()))
            .then(|| part.parse::<u32>().ok())
            .flatten()
    };
    let (Some(year), Some(month), Some(day)) = (number(year, 4), number(month, 2), number(day, 2))
    else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// `HH:MM[:SS[.fraction]]`, then `Z` or `±HH:MM` or nothing.
fn is_time(text: &str) -> bool {
    let end = text.find(['Z', '+', '-']).unwrap_or(text.len());
    let (clock, zone) = text.split_at(end);
    let zone_fits =
        zone.is_empty() || zone == "Z" || (zone.len() == 6 && is_clock(&zone[1..], false));
    zone_fits && is_clock(clock, true)
}

fn is_clock(text: &str, seconds: bool) -> bool {
    let (clock, fraction) = text.split_once('.').unwrap_or((text, ""));
    let parts: Vec<&str> = clock.split(':').collect();
    let two =
        |part: &str, most: u32| part.len() == 2 && part.parse::<u32>().is_ok_and(|n| n <= most);
    let fits = match parts[..] {
        [h, m] => two(h, 23) && two(m, 59) && fraction.is_empty(),
        [h, m, s] if seconds => two(h, 23) && two(m, 59) && two(s, 60),
        _ => false,
    };
    fits && fraction.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> Value {
        Value::Text(t.to_string())
    }

    #[test]
    fn values_are_admitted_as_their_columns_take_them() {
        let name = FieldType::Text { max_length: 5 };
        assert_eq!(name.admit(text("Ada")), Ok(text("Ada")));
        assert_eq!(
            name.admit(text("Adelheid")),
            Err("which holds at most 5 characters (this is 8)".to_string())
        );
        let money = FieldType::Decimal {
            precision: Some(6),
            scale: 2,
        };
        assert_eq!(money.admit(text("1234.5")), Ok(text("1234.5")));
        assert_eq!(money.admit(Value::Real(-12.125)), Ok(Value::Real(-12.125)));
        assert!(money.admit(text("12345.5")).is_err());
        assert!(money.admit(text("12a")).is_err());
        assert_eq!(FieldType::Boolean.admit(text("true")), Ok(Value::Int(1)));
        assert_eq!(FieldType::Boolean.admit(Value::Int(0)), Ok(Value::Int(0)));
        assert!(FieldType::Boolean.admit(text("maybe")).is_err());
        assert!(FieldType::Date.admit(text("2024-02-29")).is_ok());
        assert!(FieldType::Date.admit(text("2023-02-29")).is_err());
        assert!(FieldType::Date.admit(text("29.02.2024")).is_err());
        let moment = FieldType::TimestampTz;
        for fine in [
            "2026-12-02T10:00:00Z",
            "2026-12-02 10:00:00.123456+01:00",
            "2026-12-02T10:00",
            "2026-12-02",
        ] {
            assert!(moment.admit(text(fine)).is_ok(), "{fine}");
        }
        for wrong in ["2026-12-02T25:00:00", "2026-12-02X10:00", "tomorrow"] {
            assert!(moment.admit(text(wrong)).is_err(), "{wrong}");
        }
        assert_eq!(FieldType::Date.admit(Value::Null), Ok(Value::Null));
    }
}
