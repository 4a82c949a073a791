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
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

mod safe_open;
#[cfg(test)]
pub(crate) mod tests;

pub use safe_open::{check_absent_or_regular, not_regular, open_append, read_regular};

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
