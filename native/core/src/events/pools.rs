//! `outgoing_pool`: the outgoing connection pools by type.

use super::Event;
use crate::known;

/// One event per pool, its type as `value`, as MongooseIM sends them; a type outside
/// MongooseIM's own (which its configuration never allows) is `other`.
pub(super) fn events(pools: &[String]) -> Vec<Event> {
    pools
        .iter()
        .map(|pool| {
            let name = known::find(known::POOL_TYPES, pool).unwrap_or("other");
            Event::new("outgoing_pool", [("value", name.into())])
        })
        .collect()
}
