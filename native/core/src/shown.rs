//! What an error message may show of a value an operator gave. Errors are logged and
//! kept in `status()`, and a value may be a misplaced secret: a value or a name is shown
//! only when it is a number or a short plain name, a path only when short and ordinary;
//! anything else is described by its shape and length.

use crate::value::Value;

/// Longest name shown in a message.
const MAX_SHOWN_NAME: usize = 40;

/// The name of an atom, binary or charlist that may be shown in a message: at most
/// [`MAX_SHOWN_NAME`] of `a-z`, `0-9` and `_`. Option names and words like `true` pass;
/// pasted secrets, URLs and tokens (capitals, punctuation, length) do not.
pub(crate) fn plain_name(value: &Value) -> Option<String> {
    let name = match value {
        Value::Atom(_) | Value::Binary(_) | Value::List(_) => value.name()?,
        _ => return None,
    };
    let plain = !name.is_empty()
        && name.len() <= MAX_SHOWN_NAME
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    plain.then_some(name)
}

/// A value as a message may show it: numbers, terms without content (`<pid>`), and plain
/// names in Erlang syntax; anything else by its [`shape`].
pub(crate) fn shown(value: &Value) -> String {
    match value {
        Value::Integer(_) | Value::Float(_) | Value::Other(_) => value.render(),
        _ if plain_name(value).is_some() => value.render(),
        other => shape(other),
    }
}

/// What a value is, never what it holds: [`Value::kind`], with the length of texts and
/// atoms, and a map's keys listed only when each is a plain atom.
pub(crate) fn shape(value: &Value) -> String {
    match value {
        Value::Atom(name) => format!("an atom of {} characters", name.chars().count()),
        Value::Map(pairs)
            if !pairs.iter().all(|(k, _)| matches!(k, Value::Atom(_)) && plain_name(k).is_some()) =>
        {
            format!("a map of {} pairs", pairs.len())
        }
        _ => match value.text() {
            Some(text) => format!("a string of {} characters", text.chars().count()),
            None => value.kind(),
        },
    }
}

/// Longest path of a URL or file shown in a message.
pub(crate) const MAX_SHOWN_PATH: usize = 60;

/// A file path as a message may show it: in full when it is short and made only of the
/// characters of ordinary paths; else by its length.
pub(crate) fn path_shown(value: &Value) -> String {
    let Some(text) = value.text() else { return shown(value) };
    let ordinary = |c: char| c.is_ascii_alphanumeric() || "/._-+~ ".contains(c);
    if text.chars().count() <= MAX_SHOWN_PATH && text.chars().all(ordinary) {
        format!("{text:?}")
    } else {
        format!("a path of {} characters", text.chars().count())
    }
}
