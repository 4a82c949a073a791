//! Erlang term -> [`Value`]: the one place where terms are read. Everything after works
//! on plain Rust data.

use mongoose_system_metrics_core::value::{self, Value};
use rustler::types::map::MapIterator;
use rustler::types::tuple::get_tuple;
use rustler::types::Binary;
use rustler::{Term, TermType};

/// Copies a term into a [`Value`]. Never panics: what the core has no use for (pids,
/// references, funs, ports, integers beyond 64 bits, improper lists, what lies deeper
/// than [`value::MAX_DEPTH`]) becomes [`Value::Other`], which the core refuses by name.
/// The depth limit also bounds every recursion over the value in the core.
pub fn value(term: Term) -> Value {
    at_depth(term, 1)
}

fn at_depth(term: Term, depth: usize) -> Value {
    if depth > value::MAX_DEPTH {
        return Value::Other(value::TOO_DEEP);
    }
    let inner = |t: Term| at_depth(t, depth + 1);
    match term.get_type() {
        // Only atoms beyond Latin-1 fail here (the NIF API reads atoms as Latin-1).
        TermType::Atom => term.atom_to_string().map(Value::Atom).unwrap_or(Value::Other("non-Latin-1 atom")),
        TermType::Integer => {
            term.decode::<i64>().map(Value::Integer).unwrap_or(Value::Other(value::BIG_INTEGER))
        }
        TermType::Float => term.decode::<f64>().map(Value::Float).unwrap_or(Value::Other("float")),
        TermType::Binary => term
            .decode::<Binary>()
            .map(|b| Value::Binary(b.as_slice().to_vec()))
            .unwrap_or(Value::Other("bitstring")),
        TermType::List => list(term, depth),
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

/// A list, cell by cell: rustler's own list iterator panics at an improper tail.
fn list(term: Term, depth: usize) -> Value {
    // The length is known only for a proper list, so an improper one is refused before
    // any element is copied.
    let Ok(length) = term.list_length() else { return Value::Other(value::IMPROPER_LIST) };
    let mut items = Vec::with_capacity(length);
    let mut rest = term;
    while let Ok((head, tail)) = rest.list_get_cell() {
        items.push(at_depth(head, depth + 1));
        rest = tail;
    }
    if rest.is_empty_list() {
        Value::List(items)
    } else {
        Value::Other(value::IMPROPER_LIST)
    }
}
