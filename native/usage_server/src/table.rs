//! A read's result as a table, written as JSON (an array of objects, keys in column order)
//! or as CSV (RFC 4180, with a header row).

use serde_json::Value;

/// One value of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// Unknown: JSON `null`, an empty CSV field.
    Null,
    /// A count or a number.
    Int(i64),
    /// Text.
    Text(String),
}

impl From<&str> for Field {
    fn from(text: &str) -> Self {
        Field::Text(text.to_owned())
    }
}

impl From<String> for Field {
    fn from(text: String) -> Self {
        Field::Text(text)
    }
}

impl From<i64> for Field {
    fn from(n: i64) -> Self {
        Field::Int(n)
    }
}

impl From<Option<String>> for Field {
    fn from(text: Option<String>) -> Self {
        text.map_or(Field::Null, Field::Text)
    }
}

impl From<Option<i64>> for Field {
    fn from(n: Option<i64>) -> Self {
        n.map_or(Field::Null, Field::Int)
    }
}

/// Named columns and rows of as many fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The column names: JSON keys and the CSV header.
    pub columns: &'static [&'static str],
    /// The rows.
    pub rows: Vec<Vec<Field>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(columns: &'static [&'static str]) -> Table {
        Table { columns, rows: Vec::new() }
    }

    /// `[{"column": value, ...}, ...]`.
    pub fn to_json(&self) -> String {
        let mut out = String::from("[");
        for (i, row) in self.rows.iter().enumerate() {
            out.push_str(if i == 0 { "{" } else { ",{" });
            for (j, (column, field)) in self.columns.iter().zip(row).enumerate() {
                if j > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(*column).to_string());
                out.push(':');
                out.push_str(
                    &match field {
                        Field::Null => Value::Null,
                        Field::Int(n) => Value::from(*n),
                        Field::Text(text) => Value::from(text.as_str()),
                    }
                    .to_string(),
                );
            }
            out.push('}');
        }
        out.push(']');
        out
    }

    /// A header row, then one line a row, each ended by CRLF.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let header: Vec<String> = self.columns.iter().map(|c| csv_field(c)).collect();
        out.push_str(&header.join(","));
        out.push_str("\r\n");
        for row in &self.rows {
            let fields: Vec<String> = row
                .iter()
                .map(|field| match field {
                    Field::Null => String::new(),
                    Field::Int(n) => n.to_string(),
                    Field::Text(text) => csv_field(text),
                })
                .collect();
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        }
        out
    }
}

/// A field quoted when it holds a comma, a quote, a line break or outer spaces.
fn csv_field(text: &str) -> String {
    let needs_quotes = text.contains([',', '"', '\r', '\n']) || text.starts_with(' ') || text.ends_with(' ');
    if needs_quotes {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        Table {
            columns: &["version", "deployments"],
            rows: vec![
                vec!["6.8.0".into(), 2.into()],
                vec!["a,\"b\"\nc".into(), Field::Null],
                vec![" x".into(), (-1).into()],
            ],
        }
    }

    #[test]
    fn json_keeps_the_column_order_and_types() {
        assert_eq!(
            sample().to_json(),
            r#"[{"version":"6.8.0","deployments":2},{"version":"a,\"b\"\nc","deployments":null},{"version":" x","deployments":-1}]"#
        );
        assert_eq!(Table::new(&["day"]).to_json(), "[]");
    }

    #[test]
    fn csv_has_a_header_and_quotes_only_what_needs_it() {
        assert_eq!(
            sample().to_csv(),
            "version,deployments\r\n6.8.0,2\r\n\"a,\"\"b\"\"\nc\",\r\n\" x\",-1\r\n"
        );
        assert_eq!(Table::new(&["day", "deployments"]).to_csv(), "day,deployments\r\n");
    }
}
