//! What the read API computes from the stored reports, as tables: the deployments, one
//! deployment's history, and the charts. The SQL runs as written on both databases.

pub mod charts;
pub mod deployments;

use crate::dates::MS_PER_DAY;
use crate::store::Arg;

/// A range of whole UTC days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// The first day (days since 1970-01-01).
    pub from_day: i64,
    /// The last day.
    pub to_day: i64,
}

impl Range {
    /// Its first millisecond.
    pub fn start_ms(self) -> i64 {
        self.from_day * MS_PER_DAY
    }

    /// The first millisecond after it.
    pub fn end_ms(self) -> i64 {
        (self.to_day + 1) * MS_PER_DAY
    }

    /// `$1, $2`: its bounds.
    fn args(self) -> Vec<Arg> {
        vec![Arg::Int(self.start_ms()), Arg::Int(self.end_ms())]
    }

    /// `$1` to `$4`: its bounds twice, for [`latest_ga4_reports!`].
    fn latest_args(self) -> Vec<Arg> {
        let mut args = self.args();
        args.extend(self.args());
        args
    }
}

/// `SELECT id, client_id` of each client's newest GA4 report in the range `$1`..`$2`
/// (the same range again as `$3`..`$4`): the report whose facts a chart counts.
macro_rules! latest_ga4_reports {
    () => {
        "SELECT r.id, r.client_id FROM reports r \
         WHERE r.protocol = 'ga4' AND r.received_ms >= $1 AND r.received_ms < $2 \
         AND NOT EXISTS (SELECT 1 FROM reports n \
             WHERE n.client_id = r.client_id AND n.protocol = 'ga4' \
             AND n.received_ms >= $3 AND n.received_ms < $4 \
             AND (n.received_ms > r.received_ms OR (n.received_ms = r.received_ms AND n.id > r.id)))"
    };
}
pub(crate) use latest_ga4_reports;

/// A parameter's text as an integer, when it is one (`"3"`, or `"3.0"` as some encoders write it).
fn integer(text: &str) -> Option<i64> {
    text.parse::<i64>().ok().or_else(|| {
        let float = text.parse::<f64>().ok()?;
        (float.fract() == 0.0 && float.abs() < 9.0e15).then_some(float as i64)
    })
}
