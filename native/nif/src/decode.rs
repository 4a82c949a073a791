//! Erlang term -> [`Value`]: the one place where terms are read. Everything after works
//! on plain Rust data.

use mongoose_system_metrics_core::value::Value;
use rustler::types::map::MapIterator;
use rustler::types::tuple::get_tuple;
use rustler::types::{Binary, ListIterator};
use rustler::{Term, TermType};

/// Terms nested deeper than this are not followed; nothing we read is that deep.
const MAX_DEPTH: usize = 64;

/// Copies a term into a [`Value`].
pub fn value(term: Term) -> Value {
    at_depth(term, 0)
}

fn at_depth(term: Term, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return Value::Other("deeply nested term");
    }
    let inner = |t: Term| at_depth(t, depth + 1);
    match term.get_type() {
        TermType::Atom => term.atom_to_string().map(Value::Atom).unwrap_or(Value::Other("atom")),
        TermType::Integer => term.decode::<i64>().map(Value::Integer).unwrap_or(Value::Other("big integer")),
        TermType::Float => term.decode::<f64>().map(Value::Float).unwrap_or(Value::Other("float")),
        TermType::Binary => term
            .decode::<Binary>()
            .map(|b| Value::Binary(b.as_slice().to_vec()))
            .unwrap_or(Value::Other("bitstring")),
        TermType::List => match term.decode::<ListIterator>() {
            Ok(items) => Value::List(items.map(inner).collect()),
            Err(_) => Value::Other("improper list"),
        },
        TermType::Tuple => get_tuple(term)
            .map(|items| Value::Tuple(items.into_iter().map(inner).collect()))
            .unwrap_or(Value::Other("tuple")),
        TermType::Map => match MapIterator::new(term) {
            Some(pairs) => Value::Map(pairs.map(|(k, v)| (inner(k), inner(v))).collect()),
            None => Value::Other("map"),
        },
        TermType::Pid => Value::Other("pid"),
        TermType::Port => Value::Other("port"),
        TermType::Ref => Value::Other("reference"),
        TermType::Fun => Value::Other("fun"),
        TermType::Unknown => Value::Other("term"),
    }
}
