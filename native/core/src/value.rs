//! A plain-Rust copy of an Erlang term, as the binding decodes it.
//!
//! The core validates options and facts from this type, so every rule can be tested
//! without a BEAM. Strings reach us both as binaries and as charlists; [`Value::text`]
//! accepts either.

use std::fmt::{self, Write};

/// An Erlang term, decoded once at the NIF boundary.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An atom, by name (`true` and `false` included).
    Atom(String),
    /// An integer that fits in 64 bits.
    Integer(i64),
    /// A float.
    Float(f64),
    /// A binary, which may or may not be UTF-8.
    Binary(Vec<u8>),
    /// A proper list (a charlist is a list of integers).
    List(Vec<Value>),
    /// A tuple.
    Tuple(Vec<Value>),
    /// A map, in the order the binding saw its pairs.
    Map(Vec<(Value, Value)>),
    /// Anything else (pid, reference, fun, port, big integer, improper list, a term
    /// nested too deeply), by kind: no rule accepts it, so it is always refused by name.
    Other(&'static str),
}

/// How deeply the binding follows a term; options and facts are a few levels deep.
pub const MAX_DEPTH: usize = 32;

/// [`Value::Other`] for a list whose tail is not `[]`.
pub const IMPROPER_LIST: &str = "improper list";
/// [`Value::Other`] for an integer that does not fit in 64 bits.
pub const BIG_INTEGER: &str = "integer beyond 64 bits";
/// [`Value::Other`] in place of what lies deeper than [`MAX_DEPTH`].
pub const TOO_DEEP: &str = "term nested more than 32 levels deep";

/// Longest rendering of a value inside an error message.
const MAX_RENDERED: usize = 80;

impl Value {
    /// Shorthand for an atom.
    pub fn atom(name: &str) -> Value {
        Value::Atom(name.to_owned())
    }

    /// Shorthand for a UTF-8 binary.
    pub fn binary(text: &str) -> Value {
        Value::Binary(text.as_bytes().to_vec())
    }

    /// Shorthand for a charlist, as legacy configuration spells strings.
    pub fn charlist(text: &str) -> Value {
        Value::List(text.chars().map(|c| Value::Integer(c as i64)).collect())
    }

    /// The text of a UTF-8 binary or of a non-empty charlist.
    ///
    /// The empty list is not text: in Erlang `""` and `[]` are the same term, and
    /// callers that accept an empty list mean "none", not "empty string".
    pub fn text(&self) -> Option<String> {
        match self {
            Value::Binary(bytes) => String::from_utf8(bytes.clone()).ok(),
            Value::List(items) if !items.is_empty() => items
                .iter()
                .map(|item| match item {
                    Value::Integer(code) => u32::try_from(*code).ok().and_then(char::from_u32),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    }

    /// The name of an atom, or the text of a binary or charlist.
    pub fn name(&self) -> Option<String> {
        match self {
            Value::Atom(name) => Some(name.clone()),
            other => other.text(),
        }
    }

    /// Whether this is the atom `name`.
    pub fn is_atom(&self, name: &str) -> bool {
        matches!(self, Value::Atom(a) if a == name)
    }

    /// The value in Erlang syntax, shortened for use in an error message.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        if out.chars().count() > MAX_RENDERED {
            out = out.chars().take(MAX_RENDERED - 3).collect();
            out.push_str("...");
        }
        out
    }

    /// The shape of the value without its content, for errors about values that may
    /// hold a secret: "a string", "a tuple of 3 elements", "a map with keys id, secret".
    pub fn kind(&self) -> String {
        match self {
            Value::Atom(_) => "an atom".to_owned(),
            Value::Integer(_) => "an integer".to_owned(),
            Value::Float(_) => "a float".to_owned(),
            Value::Binary(_) if self.text().is_some() => "a string".to_owned(),
            Value::Binary(_) => "a non-UTF-8 binary".to_owned(),
            Value::List(_) if self.text().is_some() => "a string".to_owned(),
            Value::List(items) => format!("a list of {} elements", items.len()),
            Value::Tuple(items) => format!("a tuple of {} elements", items.len()),
            Value::Map(pairs) if pairs.iter().all(|(k, _)| matches!(k, Value::Atom(_))) => {
                let keys: Vec<String> = pairs.iter().map(|(k, _)| k.render()).collect();
                format!("a map with keys {}", keys.join(", "))
            }
            Value::Map(pairs) => format!("a map of {} pairs", pairs.len()),
            Value::Other(kind) if kind.starts_with(['a', 'e', 'i', 'o', 'u']) => format!("an {kind}"),
            Value::Other(kind) => format!("a {kind}"),
        }
    }

    fn render_into(&self, out: &mut String) {
        // Writing to a String cannot fail.
        let _ = match self {
            Value::Atom(name) if is_plain_atom(name) => write!(out, "{name}"),
            Value::Atom(name) => write!(out, "'{}'", name.replace('\'', "\\'")),
            Value::Integer(i) => write!(out, "{i}"),
            Value::Float(f) => write!(out, "{f:?}"),
            Value::Binary(_) => match self.text() {
                Some(text) => write!(out, "<<{:?}>>", text),
                None => write!(out, "<<non-UTF-8 binary>>"),
            },
            Value::List(items) => match self.text().filter(|t| printable(t)) {
                Some(text) => write!(out, "{text:?}"),
                None => render_seq(out, "[", items, "]"),
            },
            Value::Tuple(items) => render_seq(out, "{", items, "}"),
            Value::Map(pairs) => {
                out.push_str("#{");
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    k.render_into(out);
                    out.push_str(" => ");
                    v.render_into(out);
                }
                out.push('}');
                Ok(())
            }
            Value::Other(kind) => write!(out, "<{kind}>"),
        };
    }
}

fn render_seq(out: &mut String, open: &str, items: &[Value], close: &str) -> fmt::Result {
    out.push_str(open);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        item.render_into(out);
    }
    out.push_str(close);
    Ok(())
}

fn is_plain_atom(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@')
}

fn printable(text: &str) -> bool {
    text.chars().all(|c| !c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_accepts_binaries_and_charlists() {
        assert_eq!(Value::binary("G-1").text().as_deref(), Some("G-1"));
        assert_eq!(Value::charlist("G-1").text().as_deref(), Some("G-1"));
        assert_eq!(Value::List(vec![]).text(), None);
        assert_eq!(Value::Binary(vec![0xff]).text(), None);
        assert_eq!(Value::List(vec![Value::atom("a")]).text(), None);
        assert_eq!(Value::List(vec![Value::Integer(-1)]).text(), None);
    }

    #[test]
    fn render_uses_erlang_syntax() {
        assert_eq!(Value::Integer(-1).render(), "-1");
        assert_eq!(Value::atom("maybe").render(), "maybe");
        assert_eq!(Value::atom("Bad Atom").render(), "'Bad Atom'");
        assert_eq!(Value::charlist("forever").render(), "\"forever\"");
        assert_eq!(Value::binary("x").render(), "<<\"x\">>");
        assert_eq!(Value::Map(vec![(Value::atom("id"), Value::Integer(1))]).render(), "#{id => 1}");
        assert_eq!(Value::Other("pid").render(), "<pid>");
    }

    #[test]
    fn kind_never_shows_content() {
        let secret = "s3cr3t-value";
        let cases = [
            (Value::charlist(secret), "a string"),
            (Value::binary(secret), "a string"),
            (Value::Tuple(vec![Value::charlist("G-1"), Value::charlist(secret)]), "a tuple of 2 elements"),
            (
                Value::List(vec![Value::Tuple(vec![Value::atom("secret"), Value::charlist(secret)])]),
                "a list of 1 elements",
            ),
            (
                Value::Map(vec![
                    (Value::atom("id"), Value::Integer(1)),
                    (Value::atom("secret"), Value::charlist(secret)),
                ]),
                "a map with keys id, secret",
            ),
            (Value::Map(vec![(Value::charlist(secret), Value::Integer(1))]), "a map of 1 pairs"),
            (Value::Other("pid"), "a pid"),
            (Value::Other(IMPROPER_LIST), "an improper list"),
            (Value::Other(BIG_INTEGER), "an integer beyond 64 bits"),
            (Value::Other(TOO_DEEP), "a term nested more than 32 levels deep"),
        ];
        for (value, kind) in cases {
            assert_eq!(value.kind(), kind);
            assert!(!value.kind().contains(secret));
        }
    }

    #[test]
    fn the_depth_limit_is_the_one_named() {
        assert!(TOO_DEEP.contains(&format!(" {MAX_DEPTH} ")));
        assert_eq!(Value::Other(IMPROPER_LIST).render(), "<improper list>");
    }

    #[test]
    fn render_is_bounded() {
        let long = Value::charlist(&"x".repeat(500));
        assert_eq!(long.render().chars().count(), MAX_RENDERED);
        assert!(long.render().ends_with("..."));
    }
}
