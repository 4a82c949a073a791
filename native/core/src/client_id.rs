//! The anonymous client id: a random UUID v4, made once and kept in a small file beside
//! the report file, so it survives restarts of the service and of the node.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::atomic_file;

/// The client id file's name, in the report file's directory.
pub const FILE_NAME: &str = "system_metrics_client_id";

/// Where the client id of a report file is kept.
pub fn path_beside(report_file: &Path) -> PathBuf {
    report_file.with_file_name(FILE_NAME)
}

/// The client id, and a remark for the log when it could not be kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The id, a hyphenated UUID v4.
    pub id: String,
    /// Set when the id was replaced or could not be saved.
    pub warning: Option<String>,
}

/// Reads the id from `path`, or makes a new one and saves it there.
///
/// An unreadable, malformed or unsaveable file never stops the service: a fresh id is
/// used and the reason is returned as a warning.
pub fn load_or_create(path: &Path) -> Loaded {
    let mut warning = None;
    match fs::read_to_string(path) {
        Ok(text) => match uuid::Uuid::try_parse(text.trim()) {
            Ok(id) if id.get_version_num() == 4 => {
                return Loaded { id: id.hyphenated().to_string(), warning: None };
            }
            _ => {
                warning =
                    Some(format!("client id file {} is not a UUID v4; a new id replaces it", path.display()))
            }
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => warning = Some(format!("cannot read client id file {}: {e}", path.display())),
    }
    let id = uuid::Uuid::new_v4().hyphenated().to_string();
    if let Err(e) = atomic_file::replace(path, format!("{id}\n").as_bytes()) {
        warning = Some(format!(
            "cannot save client id file {}: {e}; the id will change when the node restarts",
            path.display()
        ));
    }
    Loaded { id, warning }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atomic_file::tests::temp_dir;

    #[test]
    fn an_id_is_made_once_and_then_kept() {
        let dir = temp_dir("cid");
        let path = dir.join(FILE_NAME);
        let first = load_or_create(&path);
        assert_eq!(first.warning, None);
        assert_eq!(uuid::Uuid::parse_str(&first.id).unwrap().get_version_num(), 4);
        assert_eq!(load_or_create(&path), first);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_malformed_file_is_replaced_with_a_warning() {
        let dir = temp_dir("cid-bad");
        let path = dir.join(FILE_NAME);
        fs::write(&path, "not-a-uuid").unwrap();
        let loaded = load_or_create(&path);
        assert!(loaded.warning.unwrap().contains("not a UUID v4"));
        assert_eq!(fs::read_to_string(&path).unwrap().trim(), loaded.id);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_unwritable_place_still_gives_an_id() {
        let dir = temp_dir("cid-ro");
        fs::write(dir.join("file"), "").unwrap();
        let loaded = load_or_create(&dir.join("file").join(FILE_NAME));
        assert!(uuid::Uuid::parse_str(&loaded.id).is_ok());
        assert!(loaded.warning.unwrap().contains("cannot save"));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_file_sits_beside_the_report() {
        assert_eq!(
            path_beside(Path::new("/var/log/mim/r.json")),
            PathBuf::from("/var/log/mim/system_metrics_client_id")
        );
    }
}
