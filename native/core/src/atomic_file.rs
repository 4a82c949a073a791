//! The service's own files, written and read so that nothing planted in their place can
//! redirect or stall it.
//!
//! Replacing a file: a reader, or a node killed half-way, sees either the old content or
//! the new one, never a torn mix. A temporary file with an unpredictable name is created
//! beside it (`O_CREAT|O_EXCL|O_NOFOLLOW`, so it is always a new file of ours) and renamed
//! over the old one. Only what must survive a power cut (the client id) is also flushed to
//! disk, with its directory: the report file is rewritten every cycle, and flushing it
//! would cost every cycle a disk round trip for a copy that the next cycle replaces.
//!
//! A symbolic link, a directory, a FIFO, a socket or a device where one of these files
//! should be is refused, never followed or written to. Modes are set explicitly, so the
//! umask never decides who can read them.

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Mode of the report file and the send log: the service's group may read them (log
/// shippers usually run in it); others may not, as they hold the client id.
pub const FILE_MODE: u32 = 0o640;
/// Mode of the client id file: only the service's user, as whoever holds the id can
/// send data in this installation's name.
pub const PRIVATE_MODE: u32 = 0o600;
/// Mode of the directories the service creates: never writable by others, nor
/// readable or searchable.
pub const DIR_MODE: u32 = 0o750;

/// Atomically replaces `path` with `bytes` (mode [`FILE_MODE`]), creating missing
/// parent directories (mode [`DIR_MODE`]); not flushed to disk.
///
/// # Errors
/// Any I/O error, or a refusal when `path` is not a regular file; the old file is then
/// left as it was and no temporary file remains.
pub fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    replace_as(path, bytes, FILE_MODE, false)
}

/// [`replace`], with the file's mode given, and the file and the rename flushed to disk
/// before it returns.
///
/// # Errors
/// As [`replace`].
pub fn replace_durably(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    replace_as(path, bytes, mode, true)
}

fn replace_as(path: &Path, bytes: &[u8], mode: u32, durable: bool) -> io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name =
        path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))?;
    create_dir_all(dir)?;
    // rename(2) would replace a link or a device node itself; refuse them instead, so a
    // planted one is reported rather than silently swapped.
    check_absent_or_regular(path)?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
    let temp = dir.join(temp_name);
    let file = create_new(&temp, mode)?;
    let written = write(file, bytes, durable).and_then(|()| fs::rename(&temp, path));
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written?;
    if durable {
        // Make the rename itself durable; not every filesystem supports this, so best
        // effort. O_DIRECTORY: should the directory have been swapped for a FIFO, the open
        // fails instead of waiting.
        if let Ok(d) = OpenOptions::new().read(true).custom_flags(libc::O_DIRECTORY).open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Removes temporary files that a node killed in the middle of [`replace`] left beside
/// `path`; the file itself is untouched (it is the old or the new content, never torn).
pub fn remove_leftovers(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else { return };
    let prefix = format!(".{name}.");
    let Ok(entries) = fs::read_dir(if dir.as_os_str().is_empty() { Path::new(".") } else { dir }) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let file = file.to_string_lossy();
        if file.starts_with(&prefix) && file.ends_with(".tmp") {
            // unlink(2) removes a link itself, never what it points to.
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Creates `dir` and its missing parents, each with mode [`DIR_MODE`]; existing
/// directories are left as they are.
///
/// # Errors
/// Any I/O error, such as a file where a directory should be.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    let mut missing: Vec<PathBuf> = Vec::new();
    let mut next = Some(dir);
    while let Some(d) = next.filter(|d| !d.as_os_str().is_empty()) {
        match fs::metadata(d) {
            Ok(m) if m.is_dir() => break,
            // What mkdir(2) would say; the caller names the path.
            Ok(_) => return Err(io::Error::from_raw_os_error(libc::ENOTDIR)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => missing.push(d.to_path_buf()),
            Err(e) => return Err(e),
        }
        next = d.parent();
    }
    for d in missing.iter().rev() {
        match DirBuilder::new().mode(DIR_MODE).create(d) {
            Ok(()) => {
                // mkdir(2) applies the umask; set the mode on the new directory itself,
                // never through a link put in its place meanwhile.
                let opened = OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
                    .open(d)?;
                opened.set_permissions(Permissions::from_mode(DIR_MODE))?;
            }
            // Made by someone else meanwhile: fine, as long as it is a directory.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Opens `path` for appending, creating it with `mode` when it is missing. The open
/// never follows a link nor waits on a FIFO; anything but a regular file is refused.
///
/// # Errors
/// Any I/O error, or the refusal, saying what is there instead.
pub fn open_append(path: &Path, mode: u32) -> io::Result<File> {
    // O_NONBLOCK: opening a FIFO with no reader fails at once instead of waiting for
    // one. It changes nothing for a regular file, so it is left set.
    let flags = libc::O_NOFOLLOW | libc::O_NONBLOCK;
    match OpenOptions::new().append(true).create_new(true).mode(mode).custom_flags(flags).open(path) {
        Ok(file) => {
            file.set_permissions(Permissions::from_mode(mode))?;
            return Ok(file);
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let file = OpenOptions::new()
        .append(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|e| explained(path, e, false))?;
    regular(&file)?;
    Ok(file)
}

/// Reads a whole regular file of at most `limit` bytes. The open never waits on a
/// FIFO, and follows a symbolic link only when `follow_links` says so; a directory,
/// FIFO, socket or device is refused, and so is a file larger than `limit`, before
/// anything is read.
///
/// # Errors
/// Any I/O error (a missing file keeps [`io::ErrorKind::NotFound`]), or the refusal,
/// saying what is there instead or how large the file is.
pub fn read_regular(path: &Path, limit: u64, follow_links: bool) -> io::Result<Vec<u8>> {
    let mut flags = libc::O_NONBLOCK;
    if !follow_links {
        flags |= libc::O_NOFOLLOW;
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|e| explained(path, e, follow_links))?;
    let size = regular(&file)?;
    if size > limit {
        return Err(too_large(limit));
    }
    // O_NONBLOCK does not change reads of a regular file, so it is left set.
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        // It grew after the size was checked.
        return Err(too_large(limit));
    }
    Ok(bytes)
}

/// `Ok` when nothing is at `path` or a regular file is; otherwise the refusal, saying
/// what is there.
///
/// # Errors
/// The refusal, or an I/O error other than a missing file.
pub fn check_absent_or_regular(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) => match not_regular(m.file_type()) {
            Some(refusal) => Err(refusal),
            None => Ok(()),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The refusal for a file of type `kind`, when it is not a regular file.
pub fn not_regular(kind: fs::FileType) -> Option<io::Error> {
    let what = if kind.is_file() {
        return None;
    } else if kind.is_symlink() {
        return Some(refused("it is a symbolic link, which is never followed".to_owned()));
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else {
        "of an unknown type"
    };
    Some(refused(format!("it is {what}, not a regular file")))
}

fn refused(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

fn too_large(limit: u64) -> io::Error {
    let size = match limit {
        l if l >= 1 << 20 && l % (1 << 20) == 0 => format!("{} MiB", l >> 20),
        l if l >= 1 << 10 && l % (1 << 10) == 0 => format!("{} KiB", l >> 10),
        l => format!("{l} bytes"),
    };
    refused(format!("it is larger than {size}, the most that is read of it"))
}

/// The size of an opened file, once it is known to be a regular one.
fn regular(file: &File) -> io::Result<u64> {
    let meta = file.metadata()?;
    match not_regular(meta.file_type()) {
        Some(refusal) => Err(refusal),
        None => Ok(meta.len()),
    }
}

/// An open refused by O_NOFOLLOW, O_NONBLOCK or the kind of file gives an errno that
/// says little (`ELOOP`, `ENXIO`, `EISDIR`); say what is really there instead.
fn explained(path: &Path, error: io::Error, follow_links: bool) -> io::Error {
    let unclear = matches!(error.raw_os_error(), Some(libc::ELOOP | libc::ENXIO | libc::EISDIR));
    let found = if follow_links { fs::metadata(path) } else { fs::symlink_metadata(path) };
    match found {
        Ok(m) if unclear => not_regular(m.file_type()).unwrap_or(error),
        _ => error,
    }
}

/// A new file of ours: never an existing file, never through a link.
fn create_new(path: &Path, mode: u32) -> io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    // open(2) applies the umask; set the mode explicitly.
    if let Err(e) = file.set_permissions(Permissions::from_mode(mode)) {
        let _ = fs::remove_file(path);
        return Err(e);
    }
    Ok(file)
}

fn write(mut file: File, bytes: &[u8], synced: bool) -> io::Result<()> {
    file.write_all(bytes)?;
    if synced {
        file.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
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
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
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

    #[test]
    fn appending_refuses_links_and_never_waits_on_a_fifo() {
        let dir = temp_dir("atomic-append");
        let victim = dir.join("victim");
        fs::write(&victim, b"precious").unwrap();
        symlink(&victim, dir.join("link")).unwrap();
        symlink(dir.join("nowhere"), dir.join("dangling")).unwrap();
        fifo(&dir.join("fifo"));
        fs::create_dir(dir.join("dir")).unwrap();
        let open = |name: &str| {
            let path = dir.join(name);
            within_5s(move || open_append(&path, FILE_MODE).map(drop).map_err(|e| e.to_string()))
        };
        assert_eq!(open("link"), Err("it is a symbolic link, which is never followed".into()));
        assert_eq!(open("dangling"), Err("it is a symbolic link, which is never followed".into()));
        assert_eq!(open("fifo"), Err("it is a FIFO, not a regular file".into()));
        assert_eq!(open("dir"), Err("it is a directory, not a regular file".into()));
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert!(!dir.join("nowhere").exists());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn reading_checks_the_kind_and_the_size_before_reading() {
        let dir = temp_dir("atomic-read");
        let small = dir.join("small");
        fs::write(&small, b"12345678").unwrap();
        assert_eq!(read_regular(&small, 8, false).unwrap(), b"12345678");
        assert_eq!(
            read_regular(&small, 7, false).unwrap_err().to_string(),
            "it is larger than 7 bytes, the most that is read of it"
        );
        symlink(&small, dir.join("link")).unwrap();
        assert_eq!(read_regular(&dir.join("link"), 8, true).unwrap(), b"12345678");
        assert_eq!(
            read_regular(&dir.join("link"), 8, false).unwrap_err().to_string(),
            "it is a symbolic link, which is never followed"
        );
        fifo(&dir.join("fifo"));
        let through = dir.join("to-fifo");
        symlink(dir.join("fifo"), &through).unwrap();
        for path in [dir.join("fifo"), through] {
            let read = within_5s(move || read_regular(&path, 4096, true).map_err(|e| e.to_string()));
            assert_eq!(read, Err("it is a FIFO, not a regular file".to_owned()));
        }
        // /dev/zero never ends: only the check of its kind keeps this from eating memory.
        let zero =
            within_5s(|| read_regular(Path::new("/dev/zero"), 4 << 20, true).map_err(|e| e.to_string()));
        assert_eq!(zero, Err("it is a character device, not a regular file".to_owned()));
        assert_eq!(
            read_regular(&dir, 4096, true).unwrap_err().to_string(),
            "it is a directory, not a regular file"
        );
        assert_eq!(read_regular(&dir.join("missing"), 1, false).unwrap_err().kind(), io::ErrorKind::NotFound);
        fs::remove_dir_all(dir).unwrap();
    }
}
