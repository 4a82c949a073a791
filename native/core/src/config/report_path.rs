//! Where the report file goes: the operator's `report_file`, or the node's log directory,
//! and the checks that keep it, and the files beside it, out of the system's directories.

use std::path::{Component, Path, PathBuf};

use crate::atomic_file;
use crate::options::OptionsError;
use crate::value::Value;

/// The report file's name, in the log directory unless `report_file` says otherwise.
pub const REPORT_FILE_NAME: &str = "system_metrics_report.json";
/// Used when the node has no file log handler, or only the filesystem root.
pub const FALLBACK_REPORT_DIR: &str = "log";

/// The report file's absolute path: the operator's `report_file`, else
/// [`REPORT_FILE_NAME`] in the log directory, from `cwd` when relative; checked by
/// [`check_report_file`].
///
/// # Errors
/// The refusal, naming the option `report_file` when the operator chose the path.
pub(super) fn resolve(
    chosen: Option<PathBuf>,
    log_dir: Option<&Path>,
    cwd: &Path,
) -> Result<PathBuf, OptionsError> {
    let operator_chose = chosen.is_some();
    let report_file = cwd.join(chosen.unwrap_or_else(|| default_report_dir(log_dir).join(REPORT_FILE_NAME)));
    check_report_file(&report_file).map_err(|message| {
        if operator_chose {
            OptionsError::Invalid { option: Value::atom("report_file"), message }
        } else {
            OptionsError::Malformed(message)
        }
    })?;
    Ok(report_file)
}

/// The log directory, unless it is missing or the filesystem root.
fn default_report_dir(log_dir: Option<&Path>) -> PathBuf {
    match log_dir {
        Some(dir) if !dir.as_os_str().is_empty() && dir.parent().is_some() => dir.to_path_buf(),
        _ => PathBuf::from(FALLBACK_REPORT_DIR),
    }
}

/// The report file must be a regular file or absent, in a directory that is, once every
/// link is resolved, neither the filesystem root nor a system directory (see
/// [`system_directory`]). The client id file and the send log go beside it, so the same
/// holds for them; `..` would hide where any of them really lands.
///
/// The error is the whole message: the resolved path, and why it is refused.
fn check_report_file(path: &Path) -> Result<(), String> {
    let refused =
        |at: &Path, why: &dyn std::fmt::Display| format!("report_file resolves to {}: {why}", at.display());
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(refused(path, &"'..' is not allowed in the path"));
    }
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(refused(path, &"expected the path of a file"));
    };
    let dir = resolve_dir(dir).map_err(|why| refused(path, &why))?;
    let resolved = dir.join(name);
    if let Some(what) = system_directory(&dir) {
        return Err(refused(&resolved, &format!("refusing to write into {what}")));
    }
    atomic_file::check_absent_or_regular(&resolved).map_err(|e| refused(&resolved, &e))
}

/// `dir` with every link resolved (`/proc/self/root` is `/`). The part that does not
/// exist yet, which the service creates, is kept as written: it holds no `..`.
fn resolve_dir(dir: &Path) -> Result<PathBuf, String> {
    let mut existing = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let mut missing = Vec::new();
    loop {
        match std::fs::canonicalize(existing) {
            Ok(real) if real.is_dir() => return Ok(missing.iter().rev().fold(real, |p, name| p.join(name))),
            Ok(_) => return Err(format!("{} is not a directory", existing.display())),
            Err(e)
                if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) =>
            {
                if std::fs::symlink_metadata(existing).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Err(format!("{} is a symbolic link to nothing", existing.display()));
                }
                match (existing.parent(), existing.file_name()) {
                    (Some(parent), Some(name)) => {
                        missing.push(name);
                        existing = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
                    }
                    _ => return Err(format!("cannot resolve its directory: {e}")),
                }
            }
            Err(e) => return Err(format!("cannot resolve its directory {}: {e}", existing.display())),
        }
    }
}

/// Directories whose whole tree holds the system's configuration, devices, kernel
/// interfaces, boot files or programs.
const SYSTEM_TREES: &[&[&str]] = &[
    &["etc"],
    &["dev"],
    &["proc"],
    &["sys"],
    &["boot"],
    &["bin"],
    &["sbin"],
    &["usr", "bin"],
    &["usr", "sbin"],
    &["usr", "local", "bin"],
    &["usr", "local", "sbin"],
];

/// Where a resolved directory is a system location: the root, anything under
/// [`SYSTEM_TREES`], or one of the top directories of the system's libraries
/// themselves (`/lib*`, `/usr`, `/usr/lib*`, `/usr/libexec`, `/usr/share`,
/// `/usr/include`, `/usr/local`, `/usr/local/lib*`). Directories below the library
/// ones are allowed: MongooseIM's packages live in `/usr/lib/mongooseim` and log to
/// `/usr/lib/mongooseim/log` or `/var/log/mongooseim`.
fn system_directory(dir: &Path) -> Option<String> {
    let parts: Vec<&str> = dir
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_str().unwrap_or("")),
            _ => None,
        })
        .collect();
    if parts.is_empty() {
        return Some("the filesystem root".to_owned());
    }
    if let Some(tree) = SYSTEM_TREES.iter().find(|tree| parts.starts_with(tree)) {
        let top = format!("/{}", tree.join("/"));
        return Some(if tree.len() == parts.len() {
            format!("{top}, a system directory")
        } else {
            format!("{}, a system directory (under {top})", dir.display())
        });
    }
    let library = |name: &str| name.starts_with("lib");
    let top_of_system = match parts.as_slice() {
        [top] => *top == "usr" || library(top),
        ["usr", sub] => library(sub) || ["share", "include", "local"].contains(sub),
        ["usr", "local", sub] => library(sub),
        _ => false,
    };
    top_of_system.then(|| format!("{}, a system directory", dir.display()))
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use crate::config::from_start_argument;
    use crate::config::tests::{refusal_of, start, with_option};
    use crate::options::OptionsError;
    use crate::value::Value;

    fn refused_report_file(path: &str) -> String {
        refusal_of("report_file", with_option("report_file", path, Path::new("/srv/mim")))
    }

    #[test]
    fn report_file_defaults_to_the_log_dir_and_never_the_root() {
        let file = |dir: Option<Value>| {
            let mut pairs = vec![("options", Value::List(vec![]))];
            pairs.extend(dir.map(|d| ("report_dir", d)));
            start(pairs).unwrap().report_file
        };
        assert_eq!(
            file(Some(Value::charlist("/var/log/mongooseim"))),
            PathBuf::from("/var/log/mongooseim/system_metrics_report.json")
        );
        assert_eq!(
            file(Some(Value::charlist("/"))),
            PathBuf::from("/srv/mim/log/system_metrics_report.json")
        );
        assert_eq!(file(None), PathBuf::from("/srv/mim/log/system_metrics_report.json"));
        assert_eq!(
            file(Some(Value::atom("undefined"))),
            PathBuf::from("/srv/mim/log/system_metrics_report.json")
        );
        let explicit = start(vec![(
            "options",
            Value::List(vec![Value::Tuple(vec![Value::atom("report_file"), Value::charlist("r.json")])]),
        )])
        .unwrap();
        assert_eq!(explicit.report_file, PathBuf::from("/srv/mim/r.json"));
    }

    #[test]
    fn the_root_check_applies_to_the_resolved_path() {
        let in_root = |file: &str| {
            let options =
                Value::List(vec![Value::Tuple(vec![Value::atom("report_file"), Value::charlist(file)])]);
            let argument = Value::Map(vec![(Value::atom("options"), options)]);
            from_start_argument(&argument, Path::new("/")).map(|c| c.report_file)
        };
        for bad in ["r.json", "/r.json", "/tmp/../r.json", "logs/../../r.json"] {
            match in_root(bad) {
                Err(OptionsError::Invalid { option, message }) => {
                    assert!(option.is_atom("report_file"));
                    assert!(message.contains("root") || message.contains("'..'"), "{message}");
                }
                other => panic!("{bad}: expected a refusal, got {other:?}"),
            }
        }
        assert_eq!(in_root("log/r.json").unwrap(), PathBuf::from("/log/r.json"));
        let default = from_start_argument(
            &Value::Map(vec![(Value::atom("options"), Value::List(vec![]))]),
            Path::new("/"),
        );
        assert_eq!(default.unwrap().report_file, PathBuf::from("/log/system_metrics_report.json"));
    }

    #[test]
    fn report_file_is_never_in_a_system_location_once_resolved() {
        for (path, message) in [
            ("/etc/passwd", "report_file resolves to /etc/passwd: refusing to write into /etc, a system directory"),
            (
                "/etc/mongooseim/usage.json",
                "report_file resolves to /etc/mongooseim/usage.json: refusing to write into /etc/mongooseim, a \
                 system directory (under /etc)",
            ),
            ("/dev/null", "report_file resolves to /dev/null: refusing to write into /dev, a system directory"),
            (
                "/proc/self/root/usage.json",
                "report_file resolves to /usage.json: refusing to write into the filesystem root",
            ),
            (
                "/proc/self/root/etc/usage.json",
                "report_file resolves to /etc/usage.json: refusing to write into /etc, a system directory",
            ),
            (
                "/proc/self/usage.json",
                "refusing to write into /proc/", // the pid's directory: under /proc
            ),
            ("/sys/usage.json", "report_file resolves to /sys/usage.json: refusing to write into /sys, a system directory"),
            ("/boot/usage.json", "refusing to write into /boot, a system directory"),
            ("/usr/usage.json", "report_file resolves to /usr/usage.json: refusing to write into /usr, a system directory"),
            ("/usr/lib/usage.json", "refusing to write into /usr/lib, a system directory"),
            ("/usr/local/usage.json", "refusing to write into /usr/local, a system directory"),
            ("/usr/share/usage.json", "refusing to write into /usr/share, a system directory"),
            ("/usr/bin/mongooseim/usage.json", "(under /usr/bin)"),
        ] {
            let refused = refused_report_file(path);
            assert!(refused.contains(message), "{path}: {refused}");
        }
        // /bin and /lib are links to /usr/bin and /usr/lib on merged-/usr systems: refused
        // either way, under the name they resolve to.
        for path in ["/bin/usage.json", "/sbin/usage.json", "/lib/usage.json", "/lib64/usage.json"] {
            if Path::new(path).parent().is_some_and(Path::exists) {
                let refused = refused_report_file(path);
                assert!(refused.contains(", a system directory"), "{path}: {refused}");
            }
        }
        // MongooseIM's own places, even under /usr/lib, are fine.
        for path in [
            "/usr/lib/mongooseim/log/usage.json",
            "/usr/lib/mongooseim/usage.json",
            "/usr/local/lib/mongooseim/log/usage.json",
            "/var/log/mongooseim/usage.json",
            "/var/log/usage.json",
        ] {
            let config = with_option("report_file", path, Path::new("/srv/mim")).unwrap();
            assert_eq!(config.report_file, PathBuf::from(path));
        }
        // The default, from the node's log directory, is checked just as well.
        let argument = Value::Map(vec![
            (Value::atom("options"), Value::List(vec![])),
            (Value::atom("report_dir"), Value::charlist("/etc/mongooseim")),
        ]);
        match from_start_argument(&argument, Path::new("/srv/mim")) {
            Err(OptionsError::Malformed(message)) => assert_eq!(
                message,
                "report_file resolves to /etc/mongooseim/system_metrics_report.json: refusing to write into \
                 /etc/mongooseim, a system directory (under /etc)"
            ),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn report_file_must_be_a_regular_file_in_a_real_directory() {
        let dir = std::fs::canonicalize(crate::atomic_file::tests::temp_dir("config-report-file")).unwrap();
        let at = |name: &str| dir.join(name).to_str().unwrap().to_owned();
        std::fs::write(dir.join("victim"), "precious").unwrap();
        std::os::unix::fs::symlink(dir.join("victim"), dir.join("link.json")).unwrap();
        std::os::unix::fs::symlink(dir.join("nowhere"), dir.join("dangling.json")).unwrap();
        std::os::unix::fs::symlink(dir.join("nowhere"), dir.join("dangling-dir")).unwrap();
        std::os::unix::fs::symlink("/etc", dir.join("etc-link")).unwrap();
        std::fs::create_dir(dir.join("a-dir")).unwrap();
        crate::atomic_file::tests::fifo(&dir.join("fifo.json"));
        std::fs::write(dir.join("blocker"), "").unwrap();
        for (name, why) in [
            ("link.json", "it is a symbolic link, which is never followed".to_owned()),
            ("dangling.json", "it is a symbolic link, which is never followed".to_owned()),
            ("a-dir", "it is a directory, not a regular file".to_owned()),
            ("fifo.json", "it is a FIFO, not a regular file".to_owned()),
            ("blocker/usage.json", format!("{} is not a directory", at("blocker"))),
            ("blocker/deeper/usage.json", format!("{} is not a directory", at("blocker"))),
            ("dangling-dir/usage.json", format!("{} is a symbolic link to nothing", at("dangling-dir"))),
        ] {
            assert_eq!(
                refused_report_file(&at(name)),
                format!("report_file resolves to {}: {why}", at(name))
            );
        }
        // A link among the directories is resolved, and the checks apply where it leads.
        assert_eq!(
            refused_report_file(&at("etc-link/usage.json")),
            "report_file resolves to /etc/usage.json: refusing to write into /etc, a system directory"
        );
        std::os::unix::fs::symlink(dir.join("a-dir"), dir.join("dir-link")).unwrap();
        let config = with_option("report_file", &at("dir-link/new/usage.json"), Path::new("/")).unwrap();
        assert_eq!(config.report_file, dir.join("dir-link/new/usage.json"));
        std::fs::write(dir.join("existing.json"), "{}").unwrap();
        assert!(with_option("report_file", &at("existing.json"), Path::new("/")).is_ok());
        assert_eq!(std::fs::read_to_string(dir.join("victim")).unwrap(), "precious");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
