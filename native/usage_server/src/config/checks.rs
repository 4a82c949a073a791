//! Each setting's rules. A problem is described in words that never include a secret:
//! values that may hold one (stream secrets, tokens, database URLs) are never repeated.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::Secret;

/// Where reports are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL, which may hold a password.
    Postgres(Secret),
}

/// A source of reports the server accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stream {
    /// A GA4 stream: its measurement id and Measurement Protocol API secret.
    Ga4 {
        /// `G-XXXXXXXX`.
        id: String,
        /// The API secret requests must carry.
        secret: Secret,
    },
    /// A legacy Universal Analytics property, `UA-XXXX-Y`, which has no secret.
    Ua {
        /// `UA-XXXX-Y`.
        id: String,
    },
}

impl Stream {
    /// The measurement id or tracking id.
    pub fn id(&self) -> &str {
        match self {
            Stream::Ga4 { id, .. } | Stream::Ua { id } => id,
        }
    }
}

/// The longest secret or token accepted; real API secrets are about 22 characters.
const MAX_SECRET_LEN: usize = 256;
/// The most days a report may be kept (a hundred years).
const MAX_RETENTION_DAYS: u32 = 36_500;

/// `IP:PORT`, IPv6 in brackets.
pub(super) fn listen(text: &str) -> Result<SocketAddr, String> {
    text.parse().map_err(|_| format!("{} is not an address IP:PORT, e.g. 127.0.0.1:8300", shown(text)))
}

/// `sqlite:PATH`, `sqlite://PATH`, `postgres://...` or `postgresql://...`.
pub(super) fn database(text: &str) -> Result<DatabaseUrl, String> {
    if let Some(path) = text.strip_prefix("sqlite://").or_else(|| text.strip_prefix("sqlite:")) {
        if path.is_empty() || path.contains('\0') {
            return Err("sqlite: needs a file path, e.g. sqlite:/var/lib/mongoose_usage.sqlite3".to_owned());
        }
        return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
    }
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        // The parser's messages may quote the URL, which may hold a password: not shown.
        return match text.parse::<tokio_postgres::Config>() {
            Ok(_) => Ok(DatabaseUrl::Postgres(Secret(text.to_owned()))),
            Err(_) => {
                Err("not a valid PostgreSQL URL (the URL is not shown: it may hold a password)".to_owned())
            }
        };
    }
    Err("unsupported database URL: use sqlite:PATH or postgres://USER@HOST/DATABASE (the URL is not shown)"
        .to_owned())
}

/// Each stream checked, none given twice.
pub(super) fn streams(specs: &[(String, Option<String>)]) -> Result<Vec<Stream>, String> {
    let mut streams: Vec<Stream> = Vec::with_capacity(specs.len());
    for (id, secret) in specs {
        let stream = stream(id, secret.as_deref())?;
        if streams.iter().any(|s| s.id() == stream.id()) {
            return Err(format!("stream {} is given twice", stream.id()));
        }
        streams.push(stream);
    }
    Ok(streams)
}

/// `G-XXXX` with a secret, or `UA-XXXX-Y` without one.
fn stream(id: &str, secret: Option<&str>) -> Result<Stream, String> {
    if is_measurement_id(id) {
        return match secret {
            None | Some("") => Err(format!("stream {id} needs its API secret: {id}=SECRET")),
            Some(secret) if !is_token(secret) => Err(format!(
                "the API secret of stream {id} must be 1 to {MAX_SECRET_LEN} printable characters, without spaces or commas"
            )),
            Some(secret) => Ok(Stream::Ga4 { id: id.to_owned(), secret: Secret(secret.to_owned()) }),
        };
    }
    if is_tracking_id(id) {
        return match secret {
            None => Ok(Stream::Ua { id: id.to_owned() }),
            Some(_) => Err(format!("stream {id} is a Universal Analytics property, which takes no secret")),
        };
    }
    Err("a stream is G-XXXXXXXX=SECRET (GA4) or UA-XXXX-Y (Universal Analytics); this one is neither (not shown)"
        .to_owned())
}

/// The token every read needs.
pub(super) fn read_token(text: &str) -> Result<Secret, String> {
    if is_token(text) {
        Ok(Secret(text.to_owned()))
    } else {
        Err(format!(
            "the read token must be 1 to {MAX_SECRET_LEN} printable characters, without spaces or commas"
        ))
    }
}

/// Whole days, 1 to a hundred years.
pub(super) fn retention_days(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(days) if (1..=MAX_RETENTION_DAYS).contains(&days) => Ok(days),
        _ => Err(format!("{} is not a number of days from 1 to {MAX_RETENTION_DAYS}", shown(text))),
    }
}

/// `G-` and up to 32 letters and digits.
fn is_measurement_id(id: &str) -> bool {
    id.strip_prefix("G-")
        .is_some_and(|rest| (1..=32).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// `UA-` then two groups of digits, as in `UA-12345-1`.
fn is_tracking_id(id: &str) -> bool {
    let digits = |part: &str| (1..=12).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit());
    id.strip_prefix("UA-")
        .and_then(|rest| rest.split_once('-'))
        .is_some_and(|(account, property)| digits(account) && digits(property))
}

/// Printable ASCII without spaces or commas (commas separate streams in the environment).
fn is_token(text: &str) -> bool {
    (1..=MAX_SECRET_LEN).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic() && b != b',')
}

/// A value that is no secret, as a message shows it: quoted, and cut when long.
fn shown(text: &str) -> String {
    let cut: String = text.chars().take(64).collect();
    if cut.len() < text.len() {
        format!("{cut:?}...")
    } else {
        format!("{cut:?}")
    }
}
