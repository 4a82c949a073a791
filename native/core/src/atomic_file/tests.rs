//! Tests of replacing files, and helpers for every test that touches files.

use super::*;
use std::os::unix::fs::{symlink, FileTypeExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// A fresh directory under the system temp dir, removed by the caller's test end.
pub(crate) fn temp_dir(tag: &str) -> std::path::PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "msm-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A FIFO at `path`, made by mkfifo(1): nothing may ever wait on it.
pub(crate) fn fifo(path: &Path) {
    let made = std::process::Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
}

/// Runs `work` on a thread and fails the test if it has not finished within 5 s:
/// what a FIFO would do to an open without O_NONBLOCK.
pub(crate) fn within_5s<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    rx.recv_timeout(Duration::from_secs(5)).expect("it finished instead of hanging")
}

/// The permission bits of `path` itself.
pub(crate) fn mode_of(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn replaces_content_and_leaves_no_temporary_file() {
    let dir = temp_dir("atomic");
    let path = dir.join("nested/report.json");
    replace(&path, b"old").unwrap();
    replace(&path, b"new").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"new");
    let entries: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(entries.len(), 1, "only the report itself remains");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn leftovers_of_an_interrupted_replace_are_removed() {
    let dir = temp_dir("leftovers");
    let path = dir.join("report.json");
    replace(&path, b"kept").unwrap();
    fs::write(dir.join(".report.json.1234.0.tmp"), b"torn").unwrap();
    fs::write(dir.join(".report.json.0b4c4c558f5a4e0e9d6c1f0f4a6c9b3e.tmp"), b"torn").unwrap();
    fs::write(dir.join("other.tmp"), b"not ours").unwrap();
    remove_leftovers(&path);
    assert_eq!(names_in(&dir), ["other.tmp", "report.json"]);
    assert_eq!(fs::read(&path).unwrap(), b"kept");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_unwritable_place_is_an_error_and_the_old_file_stays() {
    let dir = temp_dir("atomic-ro");
    let path = dir.join("report.json");
    replace(&path, b"old").unwrap();
    // A directory where the temporary file should go cannot be created over a file.
    let blocked = path.join("child.json");
    assert!(replace(&blocked, b"x").is_err());
    assert_eq!(fs::read(&path).unwrap(), b"old");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_planted_link_is_refused_and_its_target_untouched() {
    let dir = temp_dir("atomic-link");
    let victim = dir.join("victim");
    fs::write(&victim, b"precious").unwrap();
    let path = dir.join("report.json");
    symlink(&victim, &path).unwrap();
    let err = replace(&path, b"report").unwrap_err();
    assert_eq!(err.to_string(), "it is a symbolic link, which is never followed");
    assert_eq!(fs::read(&victim).unwrap(), b"precious");
    assert!(fs::symlink_metadata(&path).unwrap().file_type().is_symlink(), "the link itself stays");
    // A dangling link too: following it would create the file it names.
    let dangling = dir.join("client_id");
    symlink(dir.join("created-through-the-link"), &dangling).unwrap();
    assert!(replace_durably(&dangling, b"id", PRIVATE_MODE).is_err());
    assert!(!dir.join("created-through-the-link").exists());
    assert_eq!(names_in(&dir), ["client_id", "report.json", "victim"], "no temporary file remains");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_directory_fifo_or_device_in_place_of_the_file_is_refused() {
    let dir = temp_dir("atomic-kinds");
    fs::create_dir(dir.join("a-dir")).unwrap();
    fifo(&dir.join("a-fifo"));
    for (path, what) in [
        (dir.join("a-dir"), "a directory"),
        (dir.join("a-fifo"), "a FIFO"),
        ("/dev/null".into(), "a character device"),
    ] {
        let err = replace(&path, b"x").unwrap_err();
        assert_eq!(err.to_string(), format!("it is {what}, not a regular file"), "{}", path.display());
    }
    assert!(dir.join("a-dir").is_dir());
    assert!(fs::symlink_metadata("/dev/null").unwrap().file_type().is_char_device());
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn temporary_names_are_unpredictable_and_never_reuse_a_planted_file() {
    let dir = temp_dir("atomic-temp");
    let path = dir.join("report.json");
    // The names the old scheme would have used next, each a link to a victim.
    let victim = dir.join("victim");
    fs::write(&victim, b"precious").unwrap();
    for n in 0..64 {
        symlink(&victim, dir.join(format!(".report.json.{}.{n}.tmp", std::process::id()))).unwrap();
    }
    replace(&path, b"report").unwrap();
    assert_eq!(fs::read(&victim).unwrap(), b"precious");
    assert_eq!(fs::read(&path).unwrap(), b"report");
    // create_new refuses whatever already has the name, a link included.
    let taken = dir.join(".taken.tmp");
    symlink(&victim, &taken).unwrap();
    assert_eq!(create_new(&taken, FILE_MODE).unwrap_err().kind(), io::ErrorKind::AlreadyExists);
    assert_eq!(fs::read(&victim).unwrap(), b"precious");
    fs::remove_dir_all(dir).unwrap();
}

/// The umask of this process, as the kernel reports it.
fn umask() -> String {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    status.lines().find_map(|l| l.strip_prefix("Umask:")).unwrap().trim().to_owned()
}

#[test]
fn modes_are_explicit_whatever_the_umask() {
    const NAME: &str = "atomic_file::tests::modes_are_explicit_whatever_the_umask";
    // umask(2) is per process: this test runs itself again in child processes, one
    // with the strictest umask and one with none, and checks in each.
    if std::env::var_os("MSM_UMASK_CHILD").is_none() {
        for umask in ["0077", "0000"] {
            let child = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("umask {umask} && exec \"$0\" --exact {NAME} --test-threads=1"))
                .arg(std::env::current_exe().unwrap())
                .env("MSM_UMASK_CHILD", umask)
                .output()
                .unwrap();
            let out = String::from_utf8_lossy(&child.stdout);
            let err = String::from_utf8_lossy(&child.stderr);
            assert!(child.status.success() && out.contains("1 passed"), "umask {umask}: {out}{err}");
        }
    } else {
        assert_eq!(Some(umask().into()), std::env::var_os("MSM_UMASK_CHILD"), "the child's umask is set");
    }
    let dir = temp_dir("atomic-modes");
    fs::set_permissions(&dir, Permissions::from_mode(0o777)).unwrap();
    let file = dir.join("made/by/us/report.json");
    replace(&file, b"x").unwrap();
    assert_eq!(mode_of(&file), FILE_MODE);
    for d in ["made", "made/by", "made/by/us"] {
        assert_eq!(mode_of(&dir.join(d)), DIR_MODE, "{d}");
    }
    assert_eq!(mode_of(&dir), 0o777, "an existing directory is left as it is");
    let private = dir.join("made/client_id");
    replace_durably(&private, b"id", PRIVATE_MODE).unwrap();
    assert_eq!(mode_of(&private), PRIVATE_MODE);
    // Replacing sets the mode again, even over a file someone opened up.
    fs::set_permissions(&private, Permissions::from_mode(0o666)).unwrap();
    replace_durably(&private, b"id", PRIVATE_MODE).unwrap();
    assert_eq!(mode_of(&private), PRIVATE_MODE);
    let log = dir.join("made/log");
    drop(open_append(&log, FILE_MODE).unwrap());
    assert_eq!(mode_of(&log), FILE_MODE);
    fs::remove_dir_all(dir).unwrap();
}
