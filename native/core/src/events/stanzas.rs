//! `xmpp_stanza_count`: the stanza counters' totals, and their growth since the last report.

use super::{Event, StanzaBaseline, StanzaTotals};
use crate::known;

/// The growth since the last report, node by node, then summed: a node whose total fell
/// was restarted (its counter reset) and counts from zero, never negative; a node that
/// left or restarted changes nothing for the others.
pub(super) fn increments(by_node: &[(String, StanzaTotals)], previous: &StanzaBaseline) -> StanzaTotals {
    let mut sums = StanzaTotals::new();
    for (node, totals) in by_node {
        for (kind, total) in totals {
            let before = previous.get(node).and_then(|p| p.get(kind));
            let increment = match before {
                Some(&before) if before <= *total => total - before,
                _ => *total,
            };
            *sums.entry(kind.clone()).or_default() += increment;
        }
    }
    sums
}

/// One event per stanza type: the cluster's total, and its increment since the last
/// report.
pub(super) fn events(totals: &StanzaTotals, increments: &StanzaTotals) -> Vec<Event> {
    known::STANZA_TYPES
        .iter()
        .filter_map(|stanza_type| {
            let total = *totals.get(*stanza_type)?;
            let increment = increments.get(*stanza_type).copied().unwrap_or(total);
            Some(Event::new(
                "xmpp_stanza_count",
                [
                    ("stanza_type", (*stanza_type).into()),
                    ("total", total.into()),
                    ("increment", increment.into()),
                ],
            ))
        })
        .collect()
}
