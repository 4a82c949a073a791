//! Opening and reading the service's existing files without being redirected or stalled:
//! a symbolic link is not followed (unless a reader allows it), a FIFO is never waited
//! on, and anything but a regular file is refused, saying what is there instead.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atomic_file::tests::{fifo, temp_dir, within_5s};
    use crate::atomic_file::FILE_MODE;
    use std::os::unix::fs::symlink;

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
