//! What the member that reported tells the others, and the identity a cycle is elected to
//! send with: checked here, at the edge, since they come from other nodes.

use super::Identity;
use crate::error::CoreError;
use crate::events::{StanzaBaseline, StanzaTotals};
use crate::value::Value;

/// The cluster's identity and each node's stanza totals at its last report, as the member
/// that sent it hands them on, so that whichever member reports next carries on with the
/// same client id and increments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HandOver {
    /// The identity the report went out with; `None` leaves a follower's own.
    pub identity: Option<Identity>,
    /// Each node's stanza totals; `None` leaves a follower's own.
    pub stanza_totals: Option<StanzaBaseline>,
}

impl HandOver {
    /// `#{identity => Identity, stanza_totals => #{Node => #{Type => Total}}}`, as a cycle
    /// hands it over, every key optional; `Identity` as [`elected`] takes it. Without
    /// `with_identity` (the host gives every node its id) `identity` is not read at all.
    ///
    /// # Errors
    /// [`CoreError::InvalidHandOver`], naming what does not hold.
    pub fn parse(value: &Value, with_identity: bool) -> Result<HandOver, CoreError> {
        let Value::Map(pairs) = value else { return Err(invalid("expected a map")) };
        let identity = match field(pairs, "identity") {
            Some(identity) if with_identity => elected(identity)?,
            _ => None,
        };
        let stanza_totals = match field(pairs, "stanza_totals") {
            None => None,
            Some(Value::Map(nodes)) => Some(
                nodes
                    .iter()
                    .map(|(node, totals)| {
                        let node = node.name().ok_or_else(|| invalid("node names must be strings"))?;
                        Ok((node, totals_of(totals)?))
                    })
                    .collect::<Result<StanzaBaseline, CoreError>>()?,
            ),
            Some(_) => return Err(invalid("stanza_totals must be a map")),
        };
        Ok(HandOver { identity, stanza_totals })
    }
}

/// The identity elected for a cycle: `undefined` (keep this node's) or
/// `#{client_id => Id, created_ms => Ms}`.
///
/// # Errors
/// [`CoreError::InvalidHandOver`], naming what does not hold.
pub fn elected(value: &Value) -> Result<Option<Identity>, CoreError> {
    match value {
        v if v.is_atom("undefined") => Ok(None),
        Value::Map(pairs) => identity_in(pairs)?.map(Some).ok_or_else(|| invalid("client_id is missing")),
        _ => Err(invalid("the identity must be undefined or a map")),
    }
}

fn identity_in(pairs: &[(Value, Value)]) -> Result<Option<Identity>, CoreError> {
    let Some(id) = field(pairs, "client_id") else { return Ok(None) };
    let id = id.text().ok_or_else(|| invalid("client_id must be a string"))?;
    let created_ms = match field(pairs, "created_ms") {
        Some(Value::Integer(ms)) if *ms >= 0 => *ms as u64,
        _ => return Err(invalid("created_ms must be a non-negative integer")),
    };
    Identity::checked(&id, created_ms).map(Some).ok_or_else(|| invalid("client_id must be a UUID v4"))
}

fn field<'a>(pairs: &'a [(Value, Value)], key: &str) -> Option<&'a Value> {
    pairs.iter().find(|(k, _)| k.is_atom(key)).map(|(_, v)| v)
}

fn totals_of(value: &Value) -> Result<StanzaTotals, CoreError> {
    let Value::Map(totals) = value else { return Err(invalid("a node's stanza totals must be a map")) };
    totals
        .iter()
        .map(|(k, v)| match (k.name(), v) {
            (Some(kind), Value::Integer(n)) if *n >= 0 => Ok((kind, *n as u64)),
            _ => Err(invalid("stanza totals must map stanza types to counts")),
        })
        .collect()
}

fn invalid(why: &str) -> CoreError {
    CoreError::InvalidHandOver(why.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "6c4b2a9e-3f1d-4e8a-9b7c-2d5e8f1a3b6c";

    fn map(pairs: Vec<(&str, Value)>) -> Value {
        Value::Map(pairs.into_iter().map(|(k, v)| (Value::atom(k), v)).collect())
    }

    fn identified(identity: Value) -> Value {
        map(vec![("identity", identity)])
    }

    fn totals(node: &str, n: i64) -> Value {
        map(vec![(node, map(vec![("xmppMessageSent", Value::Integer(n))]))])
    }

    #[test]
    fn a_whole_hand_over_is_read() {
        let identity = map(vec![("client_id", Value::binary(ID)), ("created_ms", Value::Integer(7))]);
        let given = map(vec![("identity", identity), ("stanza_totals", totals("a@h", 3))]);
        let hand_over = HandOver::parse(&given, true).unwrap();
        assert_eq!(hand_over.identity, Identity::checked(ID, 7));
        let expected: StanzaBaseline =
            [("a@h".to_owned(), [("xmppMessageSent".to_owned(), 3)].into())].into();
        assert_eq!(hand_over.stanza_totals, Some(expected));
    }

    #[test]
    fn under_the_hosts_id_the_identity_is_not_read() {
        let identity = map(vec![("client_id", Value::Integer(1)), ("created_ms", Value::Integer(1))]);
        let given = map(vec![("identity", identity), ("stanza_totals", totals("a@h", 1))]);
        assert_eq!(HandOver::parse(&given, true), Err(invalid("client_id must be a string")));
        let undefined = map(vec![("identity", Value::atom("undefined"))]);
        assert_eq!(HandOver::parse(&undefined, true), Ok(HandOver::default()));
        assert_eq!(HandOver::parse(&given, false).unwrap().identity, None);
    }

    #[test]
    fn what_does_not_hold_is_named() {
        let cases = [
            (Value::List(vec![]), "expected a map"),
            (
                identified(map(vec![("client_id", Value::binary("x")), ("created_ms", Value::Integer(1))])),
                "UUID v4",
            ),
            (
                identified(map(vec![("client_id", Value::binary(ID)), ("created_ms", Value::Integer(-1))])),
                "created_ms",
            ),
            (identified(Value::binary(ID)), "undefined or a map"),
            (map(vec![("stanza_totals", Value::Integer(1))]), "stanza_totals must be a map"),
            (map(vec![("stanza_totals", totals("a@h", -5))]), "stanza types to counts"),
            (map(vec![("stanza_totals", map(vec![("a@h", Value::Integer(1))]))]), "must be a map"),
        ];
        for (given, why) in cases {
            let Err(CoreError::InvalidHandOver(said)) = HandOver::parse(&given, true) else {
                panic!("accepted {}", given.render())
            };
            assert!(said.contains(why), "{said} should say {why}");
        }
    }

    #[test]
    fn an_elected_identity_is_undefined_or_a_whole_identity() {
        assert_eq!(elected(&Value::atom("undefined")), Ok(None));
        let given = map(vec![("client_id", Value::binary(ID)), ("created_ms", Value::Integer(9))]);
        assert_eq!(elected(&given), Ok(Identity::checked(ID, 9)));
        assert_eq!(elected(&map(vec![])), Err(invalid("client_id is missing")));
        assert!(elected(&Value::binary(ID)).is_err());
    }
}
