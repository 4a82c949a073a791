//! The read API's query parameters: `from`, `to`, `limit` and `format`, each checked; an
//! unknown or repeated parameter is refused too, so that a typo never goes unnoticed.

use crate::dates;
use crate::reads::Range;

/// Days in the default range: the last 30, today included.
pub const DEFAULT_DAYS: i64 = 30;
/// The longest range: ten years of days.
pub const MAX_RANGE_DAYS: i64 = 3660;
/// Reports of one deployment shown unless `limit` says otherwise.
pub const DEFAULT_LIMIT: i64 = 50;
/// The most reports of one deployment in one answer.
pub const MAX_LIMIT: i64 = 1000;

/// How to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json`.
    Json,
    /// `text/csv`, with a header row.
    Csv,
}

/// The checked parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadParams {
    /// The days to read.
    pub range: Range,
    /// How many reports at most, where that applies.
    pub limit: i64,
    /// JSON or CSV.
    pub format: Format,
}

/// A parameter that cannot be used, in words that name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadParam(pub String);

/// Reads the query string; `limit` is accepted only when `with_limit`. `today` is the
/// day number the default range ends on.
pub fn parse(query: Option<&str>, with_limit: bool, today: i64) -> Result<ReadParams, BadParam> {
    let mut from = None;
    let mut to = None;
    let mut limit = None;
    let mut format = None;
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let slot = match name.as_ref() {
            "from" => &mut from,
            "to" => &mut to,
            "limit" if with_limit => &mut limit,
            "format" => &mut format,
            other => return Err(BadParam(format!("unknown parameter {}", shown(other)))),
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(BadParam(format!("parameter {name} is given twice")));
        }
    }
    let day = |name: &str, text: Option<String>| match text {
        None => Ok(None),
        Some(text) => dates::parse_day(&text)
            .map(Some)
            .ok_or_else(|| BadParam(format!("{name} must be a date YYYY-MM-DD from 1970 to 9999"))),
    };
    let (from, to) = (day("from", from)?, day("to", to)?);
    let to_day = to.unwrap_or(today);
    let from_day = from.unwrap_or(to_day - (DEFAULT_DAYS - 1));
    if from_day > to_day {
        return Err(BadParam("from must not be after to".to_owned()));
    }
    if to_day - from_day + 1 > MAX_RANGE_DAYS {
        return Err(BadParam(format!("from: the range from..to spans at most {MAX_RANGE_DAYS} days")));
    }
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(text) => match text.parse::<i64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => return Err(BadParam(format!("limit must be a whole number from 1 to {MAX_LIMIT}"))),
        },
    };
    let format = match format.as_deref() {
        None | Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        Some(_) => return Err(BadParam("format must be json or csv".to_owned())),
    };
    Ok(ReadParams { range: Range { from_day, to_day }, limit, format })
}

/// A parameter name as a message may repeat it.
fn shown(name: &str) -> String {
    if name.len() <= 40 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        name.to_owned()
    } else {
        "(not shown)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: i64 = 20_000;

    fn ok(query: &str) -> ReadParams {
        parse(Some(query), true, TODAY).unwrap()
    }

    fn bad(query: &str, with_limit: bool) -> String {
        parse(Some(query), with_limit, TODAY).unwrap_err().0
    }

    #[test]
    fn defaults_are_the_last_30_days_json_and_50_reports() {
        let params = parse(None, true, TODAY).unwrap();
        assert_eq!(params.range, Range { from_day: TODAY - 29, to_day: TODAY });
        assert_eq!((params.limit, params.format), (DEFAULT_LIMIT, Format::Json));
        assert_eq!(ok("to=2024-01-31").range, Range { from_day: 19_753 - 29, to_day: 19_753 });
    }

    #[test]
    fn values_are_read() {
        let params = ok("from=2024-01-01&to=2024-01-31&limit=7&format=csv");
        assert_eq!(params.range, Range { from_day: 19_723, to_day: 19_753 });
        assert_eq!((params.limit, params.format), (7, Format::Csv));
        assert_eq!(ok("from=2024-01-01&to=2024-01-01").range, Range { from_day: 19_723, to_day: 19_723 });
    }

    #[test]
    fn every_mistake_names_its_parameter() {
        let cases = [
            ("from=yesterday", true, "from must be a date"),
            ("to=2024-02-30", true, "to must be a date"),
            ("from=2024-02-01&to=2024-01-01", true, "from must not be after to"),
            ("from=2000-01-01&to=2024-01-01", true, "from: the range"),
            ("limit=0", true, "limit must be"),
            ("limit=1001", true, "limit must be"),
            ("limit=ten", true, "limit must be"),
            ("limit=5", false, "unknown parameter limit"),
            ("format=xml", true, "format must be json or csv"),
            ("colour=red", true, "unknown parameter colour"),
            ("from=2024-01-01&from=2024-01-02", true, "parameter from is given twice"),
            ("%3Cscript%3E=1", true, "unknown parameter (not shown)"),
        ];
        for (query, with_limit, expected) in cases {
            let message = bad(query, with_limit);
            assert!(message.starts_with(expected), "{query}: {message}");
        }
    }
}
