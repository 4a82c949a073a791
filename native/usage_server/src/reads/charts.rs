//! The charts. Each counts deployments (distinct client ids) by a fact of their newest GA4
//! report in the range, except the deployments per day and the traffic, which use every
//! report of the range.

use std::collections::BTreeMap;

use super::{integer, latest_ga4_reports, Range};
use crate::dates;
use crate::store::{Arg, Cell, Store, StoreError};
use crate::table::{Field, Table};

/// A chart of `/api/charts/{name}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chart {
    /// Distinct client ids that reported, each day of the range.
    DeploymentsPerDay,
    /// `cluster.version`.
    Versions,
    /// `module_with_opt` module and backend.
    Modules,
    /// `cluster.node_number`.
    ClusterSizes,
    /// `transport_mechanism` members that are `enabled`.
    Transports,
    /// `http_api` members that are `enabled`.
    HttpApis,
    /// The sum of `xmpp_stanza_count.increment`, per day and stanza type.
    Traffic,
}

impl Chart {
    /// Every chart, as the dashboard shows them.
    pub const ALL: [Chart; 7] = [
        Chart::DeploymentsPerDay,
        Chart::Versions,
        Chart::Modules,
        Chart::ClusterSizes,
        Chart::Transports,
        Chart::HttpApis,
        Chart::Traffic,
    ];

    /// The chart's name in its URL.
    pub fn name(self) -> &'static str {
        match self {
            Chart::DeploymentsPerDay => "deployments_per_day",
            Chart::Versions => "versions",
            Chart::Modules => "modules",
            Chart::ClusterSizes => "cluster_sizes",
            Chart::Transports => "transports",
            Chart::HttpApis => "http_apis",
            Chart::Traffic => "traffic",
        }
    }

    /// The chart of a name.
    pub fn named(name: &str) -> Option<Chart> {
        Chart::ALL.into_iter().find(|chart| chart.name() == name)
    }
}

const PER_DAY: &str = "SELECT day, COUNT(DISTINCT client_id) FROM reports \
     WHERE received_ms >= $1 AND received_ms < $2 GROUP BY day";

const CLUSTER_FACT: &str = concat!(
    "SELECT p.value, COUNT(DISTINCT l.client_id) FROM (",
    latest_ga4_reports!(),
    ") l JOIN params p ON p.report_id = l.id WHERE p.event_name = 'cluster' AND p.name = $5 GROUP BY p.value"
);

const MODULES: &str = concat!(
    "SELECT m.value, COALESCE(b.value, ''), COUNT(DISTINCT l.client_id) FROM (",
    latest_ga4_reports!(),
    ") l JOIN params m ON m.report_id = l.id AND m.event_name = 'module_with_opt' AND m.name = 'module' \
     LEFT JOIN params b ON b.report_id = l.id AND b.event_id = m.event_id AND b.name = 'backend' \
     GROUP BY m.value, COALESCE(b.value, '')"
);

const ENABLED: &str = concat!(
    "SELECT p.name, COUNT(DISTINCT l.client_id) FROM (",
    latest_ga4_reports!(),
    ") l JOIN params p ON p.report_id = l.id WHERE p.event_name = $5 AND p.value = 'enabled' GROUP BY p.name"
);

const TRAFFIC: &str = "SELECT r.day, r.client_id, r.stream, s.value, i.value FROM reports r \
     JOIN params s ON s.report_id = r.id AND s.event_name = 'xmpp_stanza_count' AND s.name = 'stanza_type' \
     JOIN params i ON i.report_id = r.id AND i.event_id = s.event_id AND i.name = 'increment' \
     WHERE r.protocol = 'ga4' AND r.received_ms >= $1 AND r.received_ms < $2";

/// The chart's table for the range.
///
/// # Errors
/// When the database fails.
pub async fn chart(store: &Store, chart: Chart, range: Range) -> Result<Table, StoreError> {
    let with = |extra: &str| {
        let mut args = range.latest_args();
        args.push(Arg::Text(extra.to_owned()));
        args
    };
    match chart {
        Chart::DeploymentsPerDay => Ok(per_day(range, store.rows(PER_DAY, range.args()).await?)),
        Chart::Versions => {
            Ok(ranked(&["version", "deployments"], store.rows(CLUSTER_FACT, with("version")).await?))
        }
        Chart::Modules => {
            Ok(ranked(&["module", "backend", "deployments"], store.rows(MODULES, range.latest_args()).await?))
        }
        Chart::ClusterSizes => Ok(cluster_sizes(store.rows(CLUSTER_FACT, with("node_number")).await?)),
        Chart::Transports => {
            Ok(ranked(&["transport", "deployments"], store.rows(ENABLED, with("transport_mechanism")).await?))
        }
        Chart::HttpApis => Ok(ranked(&["api", "deployments"], store.rows(ENABLED, with("http_api")).await?)),
        Chart::Traffic => Ok(traffic(store.rows(TRAFFIC, range.args()).await?)),
    }
}

/// Every day of the range, with zero for the days nobody reported.
fn per_day(range: Range, rows: Vec<Vec<Cell>>) -> Table {
    let counts: BTreeMap<i64, i64> =
        rows.iter().filter_map(|row| Some((row.first()?.int()?, row.get(1)?.int()?))).collect();
    let mut table = Table::new(&["day", "deployments"]);
    for day in range.from_day..=range.to_day {
        table.rows.push(vec![dates::format_day(day).into(), counts.get(&day).copied().unwrap_or(0).into()]);
    }
    table
}

/// Rows of text keys and a count last, most deployments first, then by the keys.
fn ranked(columns: &'static [&'static str], rows: Vec<Vec<Cell>>) -> Table {
    let mut rows: Vec<(Vec<String>, i64)> = rows
        .into_iter()
        .filter_map(|mut row| {
            let count = row.pop()?.int()?;
            Some((row.into_iter().map(Cell::into_text).collect(), count))
        })
        .collect();
    rows.sort_by(|(a_keys, a), (b_keys, b)| b.cmp(a).then_with(|| a_keys.cmp(b_keys)));
    let mut table = Table::new(columns);
    for (keys, count) in rows {
        let mut row: Vec<Field> = keys.into_iter().map(Field::Text).collect();
        row.push(count.into());
        table.rows.push(row);
    }
    table
}

/// Deployments by number of nodes, smallest clusters first; values that are not whole
/// numbers are left out.
fn cluster_sizes(rows: Vec<Vec<Cell>>) -> Table {
    let mut by_nodes: BTreeMap<i64, i64> = BTreeMap::new();
    for row in &rows {
        if let (Some(nodes), Some(count)) =
            (row.first().and_then(Cell::text).and_then(integer), row.get(1).and_then(Cell::int))
        {
            *by_nodes.entry(nodes).or_default() += count;
        }
    }
    let mut table = Table::new(&["nodes", "deployments"]);
    table.rows = by_nodes.into_iter().map(|(nodes, count)| vec![nodes.into(), count.into()]).collect();
    table
}

/// Increments summed per day and stanza type. A deployment that reports to several
/// streams sends the same counts to each: it is counted once, by its largest stream.
fn traffic(rows: Vec<Vec<Cell>>) -> Table {
    let mut per_stream: BTreeMap<(i64, String, String, String), i64> = BTreeMap::new();
    for row in rows {
        let mut cells = row.into_iter();
        let (Some(day), Some(client), Some(stream), Some(kind), Some(increment)) =
            (cells.next(), cells.next(), cells.next(), cells.next(), cells.next())
        else {
            continue;
        };
        let (Some(day), Some(increment)) = (day.int(), increment.text().and_then(integer)) else { continue };
        *per_stream.entry((day, kind.into_text(), client.into_text(), stream.into_text())).or_default() +=
            increment;
    }
    let mut per_client: BTreeMap<(i64, String, String), i64> = BTreeMap::new();
    for ((day, kind, client, _stream), sum) in per_stream {
        let largest = per_client.entry((day, kind, client)).or_default();
        *largest = (*largest).max(sum);
    }
    let mut totals: BTreeMap<(i64, String), i64> = BTreeMap::new();
    for ((day, kind, _client), sum) in per_client {
        *totals.entry((day, kind)).or_default() += sum;
    }
    let mut table = Table::new(&["day", "stanza_type", "increment"]);
    table.rows = totals
        .into_iter()
        .map(|((day, kind), sum)| vec![dates::format_day(day).into(), kind.into(), sum.into()])
        .collect();
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Cell {
        Cell::Text(s.to_owned())
    }

    #[test]
    fn names_round_trip() {
        for chart in Chart::ALL {
            assert_eq!(Chart::named(chart.name()), Some(chart));
        }
        assert_eq!(Chart::named("nope"), None);
    }

    #[test]
    fn per_day_fills_every_day_of_the_range() {
        let table = per_day(Range { from_day: 10, to_day: 12 }, vec![vec![Cell::Int(11), Cell::Int(4)]]);
        assert_eq!(
            table.to_json(),
            r#"[{"day":"1970-01-11","deployments":0},{"day":"1970-01-12","deployments":4},{"day":"1970-01-13","deployments":0}]"#
        );
    }

    #[test]
    fn ranked_sorts_by_count_then_name() {
        let rows = vec![
            vec![text("6.2.0"), Cell::Int(1)],
            vec![text("6.8.0"), Cell::Int(2)],
            vec![text("6.1.0"), Cell::Int(1)],
        ];
        let table = ranked(&["version", "deployments"], rows);
        assert_eq!(table.to_csv(), "version,deployments\r\n6.8.0,2\r\n6.1.0,1\r\n6.2.0,1\r\n");
    }

    #[test]
    fn traffic_counts_a_deployment_once_across_streams() {
        let row = |day, client: &str, stream: &str, kind: &str, n: &str| {
            vec![Cell::Int(day), text(client), text(stream), text(kind), text(n)]
        };
        let rows = vec![
            row(1, "a", "G-1", "message", "5"),
            row(1, "a", "G-2", "message", "5"),
            row(1, "a", "G-1", "message", "2"),
            row(1, "b", "G-1", "message", "10"),
            row(1, "b", "G-1", "iq", "x"),
            row(2, "a", "G-1", "presence", "3.0"),
        ];
        assert_eq!(
            traffic(rows).to_json(),
            r#"[{"day":"1970-01-02","stanza_type":"message","increment":17},{"day":"1970-01-03","stanza_type":"presence","increment":3}]"#
        );
    }

    #[test]
    fn cluster_sizes_are_numeric_and_ordered() {
        let rows = vec![
            vec![text("10"), Cell::Int(1)],
            vec![text("2"), Cell::Int(3)],
            vec![text("many"), Cell::Int(1)],
        ];
        assert_eq!(cluster_sizes(rows).to_csv(), "nodes,deployments\r\n2,3\r\n10,1\r\n");
    }
}
