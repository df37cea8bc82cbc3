//! Match-based coupling: which records of the other side an uncoupled record would be
//! coupled with, and which records of its own side share its one match. `match_on` is a
//! list of field sets in priority order: a record is matched by the first set that finds
//! an uncoupled record for it, and by no other. Text is compared without regard to letter
//! case and surrounding spaces, unless its field says `exact`. A match shared either way is ambiguous
//! and never guessed: classify holds every record of it, naming the others. A record a
//! person chose to create anew (Create New) takes no part in matching.

use super::compile::{self, Lookups};
use super::{Run, RunError};
use crate::connector::{Compare, Record};
use crate::model::Side;
use crate::store::coupling;
use crate::value::Value;
use std::collections::{BTreeSet, HashMap};

/// What matching found for one uncoupled record.
#[derive(Debug, Default)]
pub(super) struct Found {
    /// The `match_on` set that found them, by position.
    pub(super) set: usize,
    /// The other side's uncoupled records whose values of that set are the record's.
    pub(super) hits: Vec<Record>,
    /// With one hit: the other uncoupled records of the record's own side that hold the
    /// same values of that set, and so match the same record.
    pub(super) rivals: Vec<String>,
}

impl Found {
    /// Whether the match is ambiguous, so that the record is held: several hits, or one
    /// that others match too.
    pub(super) fn held(&self) -> bool {
        self.hits.len() > 1 || !self.rivals.is_empty()
    }
}

impl Run<'_> {
    /// What matching finds for each of `uncoupled`, records of `from` that no coupling
    /// holds; a record no set finds anything for is absent.
    pub(super) async fn matches(
        &self,
        from: Side,
        uncoupled: &[&Record],
        lookups: &Lookups,
    ) -> Result<HashMap<String, Found>, RunError> {
        let mut found: HashMap<String, Found> = HashMap::new();
        if self.compiled.mapping.match_on.is_empty() {
            return Ok(found);
        }
        // A record a person chose to create anew is matched with nothing.
        let keys: Vec<String> = uncoupled.iter().map(|r| r.key.clone()).collect();
        let declined = self.declined_among(from, &keys).await?;
        let mut left: Vec<&Record> = uncoupled
            .iter()
            .copied()
            .filter(|r| !declined.contains(&r.key))
            .collect();
        for set in 0..self.compiled.mapping.match_on.len() {
            if left.is_empty() {
                break;
            }
            let fields = self.match_fields(set);
            let mut hits = self.candidates(from, &fields, &left, lookups).await?;
            // A record of the other side that is coupled already, or to be created anew, is
            // no candidate.
            let keys: Vec<String> = hits.values().flatten().map(|r| r.key.clone()).collect();
            let taken = self.out_of_matching(from.other(), &keys).await?;
            for list in hits.values_mut() {
                list.retain(|r| !taken.contains(&r.key));
            }
            let singles: Vec<&Record> = left
                .iter()
                .copied()
                .filter(|r| hits.get(&r.key).is_some_and(|h| h.len() == 1))
                .collect();
            let mut rivals = self.rivals(from, &fields, &singles, lookups).await?;
            for (key, hits) in hits.into_iter().filter(|(_, h)| !h.is_empty()) {
                let rivals = rivals.remove(&key).unwrap_or_default();
                found.insert(key, Found { set, hits, rivals });
            }
            left.retain(|r| !found.contains_key(&r.key));
        }
        add_claimants(&mut found);
        Ok(found)
    }

    /// The other side's uncoupled records that `record` of `from`, not coupled, matches:
    /// what a person chooses from to couple it by hand; and whether the match is
    /// ambiguous, so that the record is held.
    pub(crate) async fn candidates_of(
        &self,
        from: Side,
        record: &Record,
    ) -> Result<(Vec<Record>, bool), RunError> {
        let lookups = {
            let mut conn = self.store.conn().await?;
            self.lookups(&mut conn, from, &[record]).await?
        };
        let found = self.matches(from, &[record], &lookups).await?;
        Ok(match found.into_values().next() {
            Some(f) => {
                let held = f.held();
                (f.hits, held)
            }
            None => (Vec::new(), false),
        })
    }

    /// For each of `uncoupled`, the other side's records whose `fields` hold the values
    /// it would be matched by.
    async fn candidates(
        &self,
        from: Side,
        fields: &[usize],
        uncoupled: &[&Record],
        lookups: &Lookups,
    ) -> Result<HashMap<String, Vec<Record>>, RunError> {
        let compiled = self.compiled;
        let to = from.other();
        let (Some(position), false) = (self.looked_up_by(fields, to), uncoupled.is_empty()) else {
            return Ok(HashMap::new());
        };
        let wanted: Vec<(&str, Vec<Value>)> = uncoupled
            .iter()
            .filter_map(|r| Some((r.key.as_str(), self.wanted(fields, from, r, lookups)?)))
            .collect();
        if wanted.is_empty() {
            return Ok(HashMap::new());
        }
        let probe: Vec<Value> = wanted.iter().map(|(_, v)| v[0].clone()).collect();
        let candidates = self
            .connector(to)
            .find(compiled.spec(to), position, &probe, self.compare(fields[0]))
            .await?;
        let candidates = ByValues::new(candidates.iter().filter_map(|c| {
            let values = fields
                .iter()
                .map(|&i| Some(self.compared(i, &c.values[compiled.fields[i].position(to)?])))
                .collect::<Option<Vec<Value>>>()?;
            Some((values, c))
        }));
        Ok(wanted
            .into_iter()
            .map(|(key, values)| {
                let hits: Vec<Record> = candidates.get(&values).cloned().collect();
                (key.to_string(), hits)
            })
            .collect())
    }

    /// For each of `singles` (uncoupled records of `from` with one match on the other
    /// side by `fields`), the other uncoupled records of `from` whose values of `fields`
    /// are the same: they match that record too. (Counted even where an earlier set would
    /// match such a record elsewhere: a doubt holds the records, it never couples them.)
    async fn rivals(
        &self,
        from: Side,
        fields: &[usize],
        singles: &[&Record],
        lookups: &Lookups,
    ) -> Result<HashMap<String, Vec<String>>, RunError> {
        let compiled = self.compiled;
        let (Some(position), false) = (self.looked_up_by(fields, from), singles.is_empty()) else {
            return Ok(HashMap::new());
        };
        let probe: Vec<Value> = singles
            .iter()
            .map(|r| self.compared(fields[0], &r.values[position]))
            .collect();
        let alike = self
            .connector(from)
            .find(
                compiled.spec(from),
                position,
                &probe,
                self.compare(fields[0]),
            )
            .await?;
        let keys: Vec<String> = alike.iter().map(|r| r.key.clone()).collect();
        let out = self.out_of_matching(from, &keys).await?;
        let alike = ByValues::new(
            alike
                .iter()
                .filter(|r| !out.contains(&r.key))
                .filter_map(|r| Some((self.wanted(fields, from, r, lookups)?, r))),
        );
        Ok(singles
            .iter()
            .filter_map(|single| {
                let values = self.wanted(fields, from, single, lookups)?;
                let mut rivals: Vec<String> = alike
                    .get(&values)
                    .filter(|r| r.key != single.key)
                    .map(|r| r.key.clone())
                    .collect();
                rivals.sort();
                Some((single.key.clone(), rivals))
            })
            .collect())
    }

    /// Which of `keys`, records of `side`, take no part in matching: coupled already, or
    /// to be created anew as a person chose.
    async fn out_of_matching(
        &self,
        side: Side,
        keys: &[String],
    ) -> Result<BTreeSet<String>, RunError> {
        if keys.is_empty() {
            return Ok(BTreeSet::new());
        }
        let mut conn = self.store.conn().await?;
        let mut out: BTreeSet<String> = coupling::coupled_among(&mut conn, self.name(), side, keys)
            .await?
            .into_iter()
            .collect();
        out.extend(coupling::declined_among(&mut conn, self.name(), side, keys).await?);
        Ok(out)
    }

    /// Which of `keys`, records of `side`, a person chose to create anew rather than
    /// couple by match.
    async fn declined_among(
        &self,
        side: Side,
        keys: &[String],
    ) -> Result<BTreeSet<String>, RunError> {
        if keys.is_empty() {
            return Ok(BTreeSet::new());
        }
        let mut conn = self.store.conn().await?;
        Ok(coupling::declined_among(&mut conn, self.name(), side, keys)
            .await?
            .into_iter()
            .collect())
    }

    /// The column of `side` that records matching on `fields` are looked up by: the
    /// first field's, whose index the system may have.
    fn looked_up_by(&self, fields: &[usize], side: Side) -> Option<usize> {
        self.compiled.fields[*fields.first()?].position(side)
    }

    /// The fields of `match_on`'s set `set`, by index.
    fn match_fields(&self, set: usize) -> Vec<usize> {
        let compiled = self.compiled;
        compiled.mapping.match_on[set]
            .iter()
            .filter_map(|name| {
                compiled
                    .fields
                    .iter()
                    .position(|f| f.field.local.as_deref() == Some(name))
            })
            .collect()
    }

    /// How field `i`'s values are compared when matching: exactly, or (the default, for
    /// text) without regard to letter case and surrounding spaces.
    fn compare(&self, i: usize) -> Compare {
        if self.compiled.fields[i].field.exact {
            Compare::Exact
        } else {
            Compare::Folded
        }
    }

    /// `value`, of field `i`, as matching compares it.
    fn compared(&self, i: usize, value: &Value) -> Value {
        match self.compare(i) {
            Compare::Exact => value.clone(),
            Compare::Folded => value.folded(),
        }
    }

    /// The values `record` of `from` would be matched by on the other side, as matching
    /// compares them, when it has all of them.
    fn wanted(
        &self,
        fields: &[usize],
        from: Side,
        record: &Record,
        lookups: &Lookups,
    ) -> Option<Vec<Value>> {
        fields
            .iter()
            .map(|&i| {
                compile::transfer(self.compiled, i, from, record, lookups)
                    .ok()
                    .filter(|v| !v.is_empty())
                    .map(|v| self.compared(i, &v))
            })
            .collect()
    }
}

/// Records with the values matching compares them by, found by their values with a hash
/// look-up rather than a comparison with each (thousands of records of a batch against
/// thousands found). Text equals only text, so records whose first value is text are
/// kept by that text; the others are compared one by one.
struct ByValues<'r> {
    by_text: HashMap<String, Vec<(Vec<Value>, &'r Record)>>,
    others: Vec<(Vec<Value>, &'r Record)>,
}

impl<'r> ByValues<'r> {
    fn new(records: impl IntoIterator<Item = (Vec<Value>, &'r Record)>) -> ByValues<'r> {
        let mut by_values = ByValues {
            by_text: HashMap::new(),
            others: Vec::new(),
        };
        for (values, record) in records {
            match values.first() {
                Some(Value::Text(text)) => by_values
                    .by_text
                    .entry(text.clone())
                    .or_default()
                    .push((values, record)),
                _ => by_values.others.push((values, record)),
            }
        }
        by_values
    }

    /// The records whose values are `values`, in the order they were given.
    fn get<'a>(&'a self, values: &'a [Value]) -> impl Iterator<Item = &'r Record> + 'a {
        let kept = match values.first() {
            Some(Value::Text(text)) => self.by_text.get(text).map_or(&[][..], Vec::as_slice),
            _ => &self.others,
        };
        kept.iter()
            .filter(move |(v, _)| v.as_slice() == values)
            .map(|(_, r)| *r)
    }
}

/// Couplings are one-to-one: a record of the other side that several of `found` match
/// is no one's match but by priority. Each record with that one hit gets as rivals those
/// that match it by the same set or an earlier one (whose claim is as strong or stronger).
fn add_claimants(found: &mut HashMap<String, Found>) {
    let mut claims: HashMap<&str, Vec<(usize, &str)>> = HashMap::new();
    for (key, f) in found.iter() {
        for hit in &f.hits {
            claims
                .entry(hit.key.as_str())
                .or_default()
                .push((f.set, key.as_str()));
        }
    }
    let shared: Vec<(String, Vec<String>)> = found
        .iter()
        .filter_map(|(key, f)| {
            let [hit] = f.hits.as_slice() else {
                return None;
            };
            let others: Vec<String> = claims[hit.key.as_str()]
                .iter()
                .filter(|(set, k)| *k != key.as_str() && *set <= f.set)
                .map(|(_, k)| k.to_string())
                .collect();
            (!others.is_empty()).then(|| (key.clone(), others))
        })
        .collect();
    for (key, others) in shared {
        let rivals = &mut found.get_mut(&key).expect("found above").rivals;
        rivals.extend(others);
        rivals.sort();
        rivals.dedup();
    }
}

/// Why a record of `from` whose one match is `found`'s waits: other records of its own
/// side match that record too.
pub(super) fn shared(fields: &[String], from: Side, found: &Found) -> String {
    let other = found
        .hits
        .first()
        .map(|r| r.key.as_str())
        .unwrap_or_default();
    let (noun, verb) = if found.rivals.len() == 1 {
        ("record", "matches")
    } else {
        ("records", "match")
    };
    format!(
        "{} record {other} matches on {}, and {from} {noun} {} {verb} it too{HELD}",
        from.other(),
        fields.join(", "),
        found.rivals.join(", ")
    )
}

/// How the message of every record held by an ambiguous match ends: the store tells held
/// records from other failures by it.
pub const HELD: &str = "; couple one by hand";

/// Why a record waits that several records of `to`, `hits`, match on `fields`.
pub(super) fn several(fields: &[String], to: Side, hits: &[Record]) -> String {
    // In key order, so that the same ambiguity met again reads the same.
    let mut keys: Vec<&str> = hits.iter().map(|r| r.key.as_str()).collect();
    keys.sort_unstable();
    format!(
        "{} {to} records match on {}: {}{HELD}",
        hits.len(),
        fields.join(", "),
        keys.join(", ")
    )
}
