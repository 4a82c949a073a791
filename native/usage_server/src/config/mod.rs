//! The server's settings: flags, then environment variables, then a TOML file, then the
//! defaults. Every value is checked before the server starts, and no message ever repeats
//! a secret (stream secrets, the read token, a database password).

mod args;
mod checks;
mod file;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

pub use checks::{DatabaseUrl, Stream};

/// Where the server listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8300";
/// The database unless told otherwise: a file in the working directory.
pub const DEFAULT_DATABASE: &str = "sqlite:mongoose_usage.sqlite3";
/// How long reports are kept unless told otherwise: two years.
pub const DEFAULT_RETENTION_DAYS: u32 = 730;

/// The usage line, for `--help` and for mistakes on the command line.
pub const USAGE: &str =
    "usage: mongoose_usage_server [--listen ADDR] [--database URL] [--stream ID=SECRET]... \
[--stream UA-XXXX-Y]... [--read-token TOKEN] [--retention-days N] [--config FILE]";

/// A value that must never be shown: its `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret; checking it is the caller's business.
    pub fn new(secret: String) -> Secret {
        Secret(secret)
    }

    /// The secret itself, for comparing or connecting; never for a message.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<hidden>)")
    }
}

/// The checked settings the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// Where reports are kept.
    pub database: DatabaseUrl,
    /// The GA4 streams and UA properties whose reports are kept; never empty.
    pub streams: Vec<Stream>,
    /// The token every read needs, when set.
    pub read_token: Option<Secret>,
    /// Reports older than this many days are deleted.
    pub retention_days: u32,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// Run the server.
    Run(Box<Config>),
    /// Print the usage and exit.
    Help,
}

/// A setting that cannot be used: one line, naming the setting and what is wrong, never
/// its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A value as one source gave it, with the source's name for messages (`--listen`,
/// `MONGOOSE_USAGE_LISTEN`, `listen in FILE`).
#[derive(Debug, Clone)]
struct Given<T> {
    value: T,
    origin: String,
}

/// A stream as given: its id, and its secret when one follows `=`.
type StreamSpec = (String, Option<String>);

/// The settings one source gives; absent ones are `None`.
#[derive(Debug, Default)]
struct Layer {
    listen: Option<Given<String>>,
    database: Option<Given<String>>,
    streams: Option<Given<Vec<StreamSpec>>>,
    read_token: Option<Given<String>>,
    retention_days: Option<Given<String>>,
    config: Option<Given<PathBuf>>,
}

impl Layer {
    /// Each setting from `self` when it has it, else from `under`.
    fn over(self, under: Layer) -> Layer {
        Layer {
            listen: self.listen.or(under.listen),
            database: self.database.or(under.database),
            streams: self.streams.or(under.streams),
            read_token: self.read_token.or(under.read_token),
            retention_days: self.retention_days.or(under.retention_days),
            config: self.config.or(under.config),
        }
    }
}

/// Reads the settings from the command line (without the program name) and the
/// environment (`env` gives a variable's value), then from the file either names.
///
/// # Errors
/// The first setting that cannot be used.
pub fn load(
    args: impl IntoIterator<Item = String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Command, ConfigError> {
    let Some(flags) = args::flags(args)? else { return Ok(Command::Help) };
    let given = flags.over(args::environment(env));
    let given = match given.config.as_ref().map(|path| path.value.clone()) {
        Some(path) => given.over(file::read(&path)?),
        None => given,
    };
    checked(given).map(|config| Command::Run(Box::new(config)))
}

fn checked(given: Layer) -> Result<Config, ConfigError> {
    let at = |origin: &str, problem: String| ConfigError(format!("{origin}: {problem}"));
    let listen = match &given.listen {
        Some(g) => checks::listen(&g.value).map_err(|p| at(&g.origin, p))?,
        None => checks::listen(DEFAULT_LISTEN).map_err(|p| at("default listen", p))?,
    };
    let database = match &given.database {
        Some(g) => checks::database(&g.value).map_err(|p| at(&g.origin, p))?,
        None => checks::database(DEFAULT_DATABASE).map_err(|p| at("default database", p))?,
    };
    let streams = match &given.streams {
        Some(g) => checks::streams(&g.value).map_err(|p| at(&g.origin, p))?,
        None => Vec::new(),
    };
    if streams.is_empty() {
        return Err(ConfigError(
            "no stream configured: give --stream ID=SECRET (GA4) or --stream UA-XXXX-Y; without one nothing would be kept"
                .to_owned(),
        ));
    }
    let read_token = match &given.read_token {
        Some(g) => Some(checks::read_token(&g.value).map_err(|p| at(&g.origin, p))?),
        None => None,
    };
    let retention_days = match &given.retention_days {
        Some(g) => checks::retention_days(&g.value).map_err(|p| at(&g.origin, p))?,
        None => DEFAULT_RETENTION_DAYS,
    };
    Ok(Config { listen, database, streams, read_token, retention_days })
}
