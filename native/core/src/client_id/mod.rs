//! The anonymous client id: a random UUID v4, made once and kept in a small file beside
//! the report file, so it survives restarts of the service and of the node. Only the
//! service's user may read it ([`atomic_file::PRIVATE_MODE`]), and a link, FIFO or
//! device in its place is refused, never followed, read or written.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use std::time::{SystemTime, UNIX_EPOCH};

use crate::atomic_file;

mod hand_over;
pub use hand_over::{elected, HandOver};

/// The client id file's name, in the report file's directory.
pub const FILE_NAME: &str = "system_metrics_client_id";

/// Longest client id accepted from the host or the facts.
pub const MAX_LEN: usize = 64;

/// The most read of a client id file: it holds an id and a number.
pub const MAX_FILE_BYTES: u64 = 4096;

/// Whether `text` may be sent as a client id: 1 to [`MAX_LEN`] ASCII letters, digits and
/// `-`, as a UUID or MongooseIM's `ephemeral-` + UUID cluster id are.
pub fn is_well_formed(text: &str) -> bool {
    !text.is_empty() && text.len() <= MAX_LEN && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Where the client id of a report file is kept.
pub fn path_beside(report_file: &Path) -> PathBuf {
    report_file.with_file_name(FILE_NAME)
}

/// A client id and when it was made: the oldest id of a cluster wins, so a node that
/// joins adopts the cluster's and every node agrees without talking it over.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Identity {
    /// When the id was made, in milliseconds since the Unix epoch (compared first).
    pub created_ms: u64,
    /// The id, a hyphenated UUID v4.
    pub id: String,
}

impl Identity {
    /// A fresh random identity.
    pub fn new() -> Identity {
        let created_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        Identity { created_ms, id: uuid::Uuid::new_v4().hyphenated().to_string() }
    }

    /// An identity from another node, if its id is a UUID v4.
    pub fn checked(id: &str, created_ms: u64) -> Option<Identity> {
        let uuid = uuid::Uuid::try_parse(id).ok().filter(|u| u.get_version_num() == 4)?;
        Some(Identity { created_ms, id: uuid.hyphenated().to_string() })
    }

    fn file_text(&self) -> String {
        format!("{}\n{}\n", self.id, self.created_ms)
    }
}

impl Default for Identity {
    fn default() -> Self {
        Identity::new()
    }
}

/// The client id, and a remark for the log when it could not be kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The identity.
    pub identity: Identity,
    /// Set when the id was replaced or could not be saved.
    pub warning: Option<String>,
}

/// Reads the identity from `path` (the id, then when it was made), or makes a new one
/// and saves it there.
///
/// An unreadable, malformed or unsaveable file never stops the service: a fresh id is
/// used and the reason is returned as a warning.
pub fn load_or_create(path: &Path) -> Loaded {
    let mut warning = None;
    match atomic_file::read_regular(path, MAX_FILE_BYTES, false) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let mut lines = text.lines();
            let id = lines.next().unwrap_or_default().trim();
            // Files of the first version hold only the id.
            let created_ms = lines.next().and_then(|l| l.trim().parse().ok()).unwrap_or(0);
            match Identity::checked(id, created_ms) {
                Some(identity) => return Loaded { identity, warning: None },
                None => {
                    warning = Some(format!(
                        "client id file {} is not a UUID v4; a new id replaces it",
                        path.display()
                    ))
                }
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => warning = Some(format!("cannot read client id file {}: {e}", path.display())),
    }
    let identity = Identity::new();
    if let Err(e) = save(path, &identity) {
        let unsaved = format!("{e}; the id will change when the node restarts");
        warning = Some(match warning {
            Some(first) => format!("{first}; {unsaved}"),
            None => unsaved,
        });
    }
    Loaded { identity, warning }
}

/// Removes the kept identity, so that reporting turned on again starts a new one.
///
/// # Errors
/// Why the file could not be removed; a missing file is no error.
pub fn forget(path: &Path) -> Result<(), String> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot remove client id file {}: {e}", path.display())),
    }
}

/// Keeps `identity` in `path`, replacing what was there.
///
/// # Errors
/// Why the file could not be written.
pub fn save(path: &Path, identity: &Identity) -> Result<(), String> {
    atomic_file::replace_durably(path, identity.file_text().as_bytes(), atomic_file::PRIVATE_MODE)
        .map_err(|e| format!("cannot save client id file {}: {e}", path.display()))
}

#[cfg(test)]
mod tests;
