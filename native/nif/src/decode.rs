//! Erlang term -> [`Value`]: the one place where terms are read. Everything after works
//! on plain Rust data.

use mongoose_system_metrics_core::client_id::Identity;
use mongoose_system_metrics_core::events::{StanzaBaseline, StanzaTotals};
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

/// `#{client_id => Id, created_ms => Ms, stanza_totals => #{Node => #{Type => Total}}}`,
/// as the reporting node of a cluster announces it; without `client_id` the identity
/// stays. Without `with_identity` (the host gives the id) `client_id` and `created_ms`
/// are not read at all.
pub fn cluster_state(
    value: &Value,
    with_identity: bool,
) -> Result<(Option<Identity>, Option<StanzaBaseline>), String> {
    let Value::Map(pairs) = value else { return Err("expected a map".to_owned()) };
    let get = |key: &str| pairs.iter().find(|(k, _)| k.is_atom(key)).map(|(_, v)| v);
    let identity = match get("client_id").filter(|_| with_identity) {
        None => None,
        Some(id) => {
            let id = id.text().ok_or("client_id must be a string")?;
            let created_ms = match get("created_ms") {
                Some(Value::Integer(ms)) if *ms >= 0 => *ms as u64,
                _ => return Err("created_ms must be a non-negative integer".to_owned()),
            };
            Some(Identity::checked(&id, created_ms).ok_or("client_id must be a UUID v4")?)
        }
    };
    let baseline = match get("stanza_totals") {
        None => None,
        Some(Value::Map(nodes)) => Some(
            nodes
                .iter()
                .map(|(node, totals)| {
                    Ok((node.name().ok_or("node names must be strings")?, totals_of(totals)?))
                })
                .collect::<Result<StanzaBaseline, String>>()?,
        ),
        Some(_) => return Err("stanza_totals must be a map".to_owned()),
    };
    Ok((identity, baseline))
}

fn totals_of(value: &Value) -> Result<StanzaTotals, String> {
    let Value::Map(totals) = value else { return Err("a node's stanza totals must be a map".to_owned()) };
    totals
        .iter()
        .map(|(k, v)| match (k.name(), v) {
            (Some(kind), Value::Integer(n)) if *n >= 0 => Ok((kind, *n as u64)),
            _ => Err("stanza totals must map stanza types to counts".to_owned()),
        })
        .collect()
}
