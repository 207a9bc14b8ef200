//! SQL text with numbered placeholders, which both SQLite and PostgreSQL accept.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Text(String),
    Int(i64),
    Bool(bool),
    Float(f64),
    /// NULLs, typed for the column they fill; written into the SQL as literals.
    Null,
    NullBool,
    NullFloat,
}

#[derive(Debug, Clone, Default)]
pub struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_string(),
            args: Vec::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `arg`. NULLs are written as literals instead: a
    /// prepared statement is cached per SQL text, and PostgreSQL fixes a parameter's type
    /// at its first use, so a slot first bound to NULL later rejects a real value.
    pub fn bind(&mut self, arg: Arg) -> &mut Self {
        if matches!(arg, Arg::Null | Arg::NullBool | Arg::NullFloat) {
            self.text.push_str("NULL");
            return self;
        }
        self.args.push(arg);
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self
    }

    pub fn text(&mut self, s: impl Into<String>) -> &mut Self {
        self.bind(Arg::Text(s.into()))
    }

    pub fn int(&mut self, i: i64) -> &mut Self {
        self.bind(Arg::Int(i))
    }

    pub fn float(&mut self, f: f64) -> &mut Self {
        self.bind(Arg::Float(f))
    }

    /// Appends another fragment, renumbering its placeholders after ours.
    pub fn append(&mut self, other: &Sql) -> &mut Self {
        let offset = self.args.len();
        let mut rest = other.text.as_str();
        while let Some(pos) = rest.find('$') {
            self.text.push_str(&rest[..pos]);
            let digits: String = rest[pos + 1..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if digits.is_empty() {
                self.text.push('$');
                rest = &rest[pos + 1..];
            } else {
                let n: usize = digits.parse().expect("digits");
                self.text.push('$');
                self.text.push_str(&(n + offset).to_string());
                rest = &rest[pos + 1 + digits.len()..];
            }
        }
        self.text.push_str(rest);
        self.args.extend(other.args.iter().cloned());
        self
    }

    /// A search: a one-off statement, planned with its values. Its selectivity depends on
    /// them (one patient's observations or a year of dates), which a plan cached for a
    /// prepared statement cannot see.
    pub fn search_query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        self.query().persistent(false)
    }

    pub fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        let mut q = sqlx::query(&self.text);
        for arg in &self.args {
            q = match arg {
                Arg::Text(s) => q.bind(s.as_str()),
                Arg::Int(i) => q.bind(*i),
                Arg::Bool(b) => q.bind(*b),
                Arg::Float(f) => q.bind(*f),
                Arg::Null | Arg::NullBool | Arg::NullFloat => {
                    unreachable!("NULLs are written as literals by bind")
                }
            };
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_are_literals_and_do_not_take_a_placeholder() {
        let mut a = Sql::new("VALUES (");
        a.int(1)
            .push(", ")
            .bind(Arg::NullFloat)
            .push(", ")
            .text("x")
            .push(")");
        assert_eq!(a.text, "VALUES ($1, NULL, $2)");
        assert_eq!(a.args, vec![Arg::Int(1), Arg::Text("x".into())]);
    }

    #[test]
    fn appended_fragments_are_renumbered() {
        let mut a = Sql::new("a = ");
        a.int(1);
        let mut b = Sql::new("b = ");
        b.text("x").push(" AND c = ").int(2);
        a.push(" AND ").append(&b);
        assert_eq!(a.text, "a = $1 AND b = $2 AND c = $3");
        assert_eq!(a.args.len(), 3);
    }
}
