//! Table filters: which of a table's records belong in a mapping
//! (`filter = "blocked = 0 and country in ('DK', 'DE')"`). The text is parsed by Coupler
//! into a [`Filter`] — columns, literals, comparisons, `in`, `is null`, `and`, `or`,
//! `not`, parentheses — and written to SQL with every literal a bound value, so a filter
//! can narrow what is read but never inject a statement.

use crate::value::Value;
use std::fmt;

/// A parsed filter.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    /// Every one holds.
    And(Vec<Filter>),
    /// Any one holds.
    Or(Vec<Filter>),
    /// It does not hold.
    Not(Box<Filter>),
    /// `column op literal`.
    Compare {
        /// The column.
        column: String,
        /// The comparison.
        op: Op,
        /// The literal compared with.
        value: Value,
    },
    /// `column in (literal, …)`.
    In {
        /// The column.
        column: String,
        /// The literals.
        values: Vec<Value>,
    },
    /// `column is null`.
    IsNull {
        /// The column.
        column: String,
    },
}

/// A comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=` or `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    /// The operator as SQL writes it.
    pub fn sql(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "<>",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

/// Why a filter's text does not parse: what was expected, and where (a character offset).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    /// What is wrong.
    pub message: String,
    /// The character where it was noticed.
    pub at: usize,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at character {})", self.message, self.at + 1)
    }
}

impl Filter {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        let tokens = tokens(text)?;
        let mut parser = Parser {
            tokens,
            next: 0,
            end: text.chars().count(),
        };
        let filter = parser.or()?;
        match parser.peek() {
            None => Ok(filter),
            Some((token, at)) => Err(FilterError {
                message: format!("unexpected {token} after a complete filter"),
                at,
            }),
        }
    }

    /// The columns it names, each once, in the order they first appear.
    pub fn columns(&self) -> Vec<&str> {
        let mut columns = Vec::new();
        self.each_column(&mut |c| {
            if !columns.contains(&c) {
                columns.push(c);
            }
        });
        columns
    }

    fn each_column<'a>(&'a self, each: &mut impl FnMut(&'a str)) {
        match self {
            Filter::And(all) | Filter::Or(all) => all.iter().for_each(|f| f.each_column(each)),
            Filter::Not(inner) => inner.each_column(each),
            Filter::Compare { column, .. }
            | Filter::In { column, .. }
            | Filter::IsNull { column } => each(column),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Literal(Value),
    Op(Op),
    Open,
    Close,
    Comma,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Word(word) => write!(f, "{word:?}"),
            Token::Literal(value) => write!(f, "the value {value}"),
            Token::Op(op) => write!(f, "{:?}", op.sql()),
            Token::Open => f.write_str("\"(\""),
            Token::Close => f.write_str("\")\""),
            Token::Comma => f.write_str("\",\""),
        }
    }
}

fn tokens(text: &str) -> Result<Vec<(Token, usize)>, FilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let fail = |message: String, at: usize| Err(FilterError { message, at });
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => (out.push((Token::Open, i)), i += 1).1,
            ')' => (out.push((Token::Close, i)), i += 1).1,
            ',' => (out.push((Token::Comma, i)), i += 1).1,
            '=' => (out.push((Token::Op(Op::Eq), i)), i += 1).1,
            '!' | '<' | '>' => {
                let next = chars.get(i + 1).copied();
                let (op, width) = match (c, next) {
                    ('!', Some('=')) | ('<', Some('>')) => (Op::Ne, 2),
                    ('<', Some('=')) => (Op::Le, 2),
                    ('>', Some('=')) => (Op::Ge, 2),
                    ('<', _) => (Op::Lt, 1),
                    ('>', _) => (Op::Gt, 1),
                    _ => return fail("\"!\" must be followed by \"=\"".into(), i),
                };
                out.push((Token::Op(op), i));
                i += width;
            }
            '\'' => {
                let mut value = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return fail("a text value is not closed with '".into(), start),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            value.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&c) => {
                            value.push(c);
                            i += 1;
                        }
                    }
                }
                out.push((Token::Literal(Value::Text(value)), start));
            }
            c if c.is_ascii_digit() || c == '-' || c == '.' => {
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let number: String = chars[start..i].iter().collect();
                let value = if let Ok(n) = number.parse::<i64>() {
                    Value::Int(n)
                } else if let Ok(r) = number.parse::<f64>() {
                    Value::Real(r)
                } else {
                    return fail(format!("{number:?} is not a number"), start);
                };
                out.push((Token::Literal(value), start));
            }
            c if c.is_alphabetic() || c == '_' => {
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push((Token::Word(chars[start..i].iter().collect()), start));
            }
            '"' => return fail("columns are named without quotes".into(), i),
            other => return fail(format!("{other:?} has no meaning in a filter"), i),
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    next: usize,
    end: usize,
}

const KEYWORDS: [&str; 7] = ["and", "or", "not", "in", "is", "null", "true"];

impl Parser {
    fn peek(&self) -> Option<(Token, usize)> {
        self.tokens.get(self.next).cloned()
    }

    fn take(&mut self) -> Option<(Token, usize)> {
        let token = self.peek();
        self.next += 1;
        token
    }

    fn keyword(&mut self, word: &str) -> bool {
        match self.peek() {
            Some((Token::Word(w), _)) if w.eq_ignore_ascii_case(word) => {
                self.next += 1;
                true
            }
            _ => false,
        }
    }

    fn expected<T>(&self, what: &str) -> Result<T, FilterError> {
        let (found, at) = match self.peek() {
            Some((token, at)) => (token.to_string(), at),
            None => ("the end".to_string(), self.end),
        };
        Err(FilterError {
            message: format!("expected {what}, found {found}"),
            at,
        })
    }

    fn or(&mut self) -> Result<Filter, FilterError> {
        let mut any = vec![self.and()?];
        while self.keyword("or") {
            any.push(self.and()?);
        }
        Ok(if any.len() == 1 {
            any.remove(0)
        } else {
            Filter::Or(any)
        })
    }

    fn and(&mut self) -> Result<Filter, FilterError> {
        let mut all = vec![self.not()?];
        while self.keyword("and") {
            all.push(self.not()?);
        }
        Ok(if all.len() == 1 {
            all.remove(0)
        } else {
            Filter::And(all)
        })
    }

    fn not(&mut self) -> Result<Filter, FilterError> {
        if self.keyword("not") {
            return Ok(Filter::Not(Box::new(self.not()?)));
        }
        if let Some((Token::Open, _)) = self.peek() {
            self.next += 1;
            let inner = self.or()?;
            return match self.take() {
                Some((Token::Close, _)) => Ok(inner),
                _ => {
                    self.next -= 1;
                    self.expected("\")\"")
                }
            };
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Filter, FilterError> {
        let column = match self.peek() {
            Some((Token::Word(w), _)) if !KEYWORDS.iter().any(|k| w.eq_ignore_ascii_case(k)) => {
                self.next += 1;
                w
            }
            _ => return self.expected("a column"),
        };
        if self.keyword("is") {
            let negated = self.keyword("not");
            if !self.keyword("null") {
                return self.expected("null");
            }
            let test = Filter::IsNull { column };
            return Ok(if negated {
                Filter::Not(Box::new(test))
            } else {
                test
            });
        }
        let negated = self.keyword("not");
        if self.keyword("in") {
            if !matches!(self.take(), Some((Token::Open, _))) {
                self.next -= 1;
                return self.expected("\"(\" after in");
            }
            let mut values = vec![self.literal()?];
            loop {
                match self.take() {
                    Some((Token::Comma, _)) => values.push(self.literal()?),
                    Some((Token::Close, _)) => break,
                    _ => {
                        self.next -= 1;
                        return self.expected("\",\" or \")\"");
                    }
                }
            }
            let test = Filter::In { column, values };
            return Ok(if negated {
                Filter::Not(Box::new(test))
            } else {
                test
            });
        }
        if negated {
            return self.expected("in after not");
        }
        let op = match self.take() {
            Some((Token::Op(op), _)) => op,
            _ => {
                self.next -= 1;
                return self.expected("a comparison (=, !=, <>, <, <=, >, >=), in, or is");
            }
        };
        Ok(Filter::Compare {
            column,
            op,
            value: self.literal()?,
        })
    }

    fn literal(&mut self) -> Result<Value, FilterError> {
        match self.peek() {
            Some((Token::Literal(value), _)) => {
                self.next += 1;
                Ok(value)
            }
            Some((Token::Word(w), _)) if w.eq_ignore_ascii_case("true") => {
                self.next += 1;
                Ok(Value::Int(1))
            }
            Some((Token::Word(w), _)) if w.eq_ignore_ascii_case("false") => {
                self.next += 1;
                Ok(Value::Int(0))
            }
            _ => self.expected("a value ('text', a number, true or false)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compare(column: &str, op: Op, value: Value) -> Filter {
        Filter::Compare {
            column: column.into(),
            op,
            value,
        }
    }

    #[test]
    fn the_grammar_reads_as_sql_does() {
        let parsed =
            Filter::parse("blocked = 0 and country in ('DK', 'DE') or not name is null").unwrap();
        assert_eq!(
            parsed,
            Filter::Or(vec![
                Filter::And(vec![
                    compare("blocked", Op::Eq, Value::Int(0)),
                    Filter::In {
                        column: "country".into(),
                        values: vec![Value::Text("DK".into()), Value::Text("DE".into())],
                    },
                ]),
                Filter::Not(Box::new(Filter::IsNull {
                    column: "name".into()
                })),
            ])
        );
        assert_eq!(parsed.columns(), ["blocked", "country", "name"]);
        assert_eq!(
            Filter::parse("(a >= -1.5) and b <> 'it''s' and c is not null").unwrap(),
            Filter::And(vec![
                compare("a", Op::Ge, Value::Real(-1.5)),
                compare("b", Op::Ne, Value::Text("it's".into())),
                Filter::Not(Box::new(Filter::IsNull { column: "c".into() })),
            ])
        );
        assert_eq!(
            Filter::parse("x not in (1, 2)").unwrap(),
            Filter::Not(Box::new(Filter::In {
                column: "x".into(),
                values: vec![Value::Int(1), Value::Int(2)],
            }))
        );
    }

    #[test]
    fn what_is_not_a_filter_is_named_where_it_is() {
        let error = |text: &str| Filter::parse(text).unwrap_err().to_string();
        assert_eq!(
            error("city = "),
            "expected a value ('text', a number, true or false), found the end (at character 8)"
        );
        assert_eq!(
            error("city = 'Oslo"),
            "a text value is not closed with ' (at character 8)"
        );
        assert_eq!(
            error("city = 'Oslo'; drop table x"),
            "';' has no meaning in a filter (at character 14)"
        );
        assert_eq!(
            error("city in ('a' 'b')"),
            "expected \",\" or \")\", found the value \"b\" (at character 14)"
        );
        assert_eq!(
            error("\"city\" = 1"),
            "columns are named without quotes (at character 1)"
        );
        // No parenthesis stands for a value, so no subquery can start there.
        assert_eq!(
            error("city = (1)"),
            "expected a value ('text', a number, true or false), found \"(\" (at character 8)"
        );
        assert_eq!(
            error("= 1"),
            "expected a column, found \"=\" (at character 1)"
        );
        assert_eq!(
            error("a = 1 b = 2"),
            "unexpected \"b\" after a complete filter (at character 7)"
        );
    }
}
