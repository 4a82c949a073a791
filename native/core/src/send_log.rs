//! The send log: one JSON line per destination each time a report is sent, beside the
//! report file: when, to which id, how many requests, the outcome, and the SHA-256 of
//! each request body, so an operator can prove what left and when. It is bounded: past
//! [`MAX_BYTES`] the log moves to `<name>.1` (replacing the older one) and starts anew.
//! It is only ever appended to as a regular file of its own: a link, FIFO or device in
//! its place is refused, never followed or written to.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::atomic_file;
use crate::report::{Delivery, Report};

/// The send log's name, in the report file's directory.
pub const FILE_NAME: &str = "system_metrics_send_log.jsonl";
/// Size at which the log is rotated.
pub const MAX_BYTES: u64 = 1024 * 1024;

/// Where the send log of a report file is kept.
pub fn path_beside(report_file: &Path) -> PathBuf {
    report_file.with_file_name(FILE_NAME)
}

#[derive(Serialize)]
struct Line<'a> {
    time: &'a str,
    client_id: &'a str,
    destination: &'a str,
    protocol: &'a str,
    requests: usize,
    delivered: usize,
    attempts: usize,
    result: Delivery,
    sha256: &'a [String],
}

/// Appends the lines of `report`: one per destination that was sent to. Returns how
/// many lines that was (none when nothing was sent).
///
/// # Errors
/// Any I/O error, or the refusal of what is in the log's place; the report itself is
/// not affected.
pub fn append(path: &Path, report: &Report) -> io::Result<usize> {
    let mut lines = 0;
    let mut text = String::new();
    for outcome in report.destinations.iter().filter(|o| o.attempts > 0) {
        let line = Line {
            time: &report.generated_at,
            client_id: &report.client_id,
            destination: &outcome.id,
            protocol: outcome.protocol,
            requests: outcome.requests,
            delivered: outcome.delivered,
            attempts: outcome.attempts,
            result: outcome.result,
            sha256: &outcome.sha256,
        };
        text.push_str(&serde_json::to_string(&line).map_err(io::Error::other)?);
        text.push('\n');
        lines += 1;
    }
    if lines == 0 {
        return Ok(0);
    }
    if let Some(dir) = path.parent() {
        atomic_file::create_dir_all(dir)?;
    }
    let mut file = atomic_file::open_append(path, atomic_file::FILE_MODE)?;
    let size = file.metadata()?.len();
    if size > 0 && size + text.len() as u64 > MAX_BYTES {
        drop(file);
        let mut rotated = path.as_os_str().to_owned();
        rotated.push(".1");
        // rename(2) moves the entry itself, so whatever it is, nothing is followed.
        fs::rename(path, rotated)?;
        file = atomic_file::open_append(path, atomic_file::FILE_MODE)?;
    }
    // One write of whole lines, not flushed: the log is a record for the operator, and a
    // disk round trip per cycle would cost more than the rest of a small cycle.
    file.write_all(text.as_bytes())?;
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atomic_file::tests::{fifo, mode_of, temp_dir, within_5s};
    use crate::report::Outcome;
    use std::os::unix::fs::symlink;

    fn report(attempts: usize) -> Report {
        let outcome = Outcome {
            id: "G-1".into(),
            protocol: "ga4",
            result: Delivery::Delivered,
            requests: 1,
            delivered: 1,
            attempts,
            sha256: vec!["ab".repeat(32)],
            status: Some(204),
            error: None,
        };
        Report::new(crate::mode::Mode::On, "cid", vec![], vec![], vec![outcome])
    }

    #[test]
    fn each_sent_destination_gets_a_line() {
        let dir = temp_dir("sendlog");
        let path = dir.join(FILE_NAME);
        assert_eq!(append(&path, &report(1)).unwrap(), 1);
        assert_eq!(append(&path, &report(0)).unwrap(), 0);
        assert_eq!(append(&path, &report(2)).unwrap(), 1);
        let text = fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2, "nothing sent, nothing logged");
        assert_eq!(lines[0]["destination"], "G-1");
        assert_eq!(lines[0]["result"], "delivered");
        assert_eq!(lines[0]["sha256"][0], "ab".repeat(32));
        assert_eq!(lines[1]["attempts"], 2);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_log_is_rotated_when_it_grows_too_big() {
        let dir = temp_dir("sendlog-rotate");
        let path = dir.join(FILE_NAME);
        let line_len = {
            append(&path, &report(1)).unwrap();
            fs::metadata(&path).unwrap().len()
        };
        let lines_per_file = (MAX_BYTES / line_len) as usize;
        for _ in 0..lines_per_file + 5 {
            append(&path, &report(1)).unwrap();
        }
        assert!(fs::metadata(&path).unwrap().len() <= MAX_BYTES);
        assert!(dir.join(format!("{FILE_NAME}.1")).exists());
        let total = fs::metadata(&path).unwrap().len()
            + fs::metadata(dir.join(format!("{FILE_NAME}.1"))).unwrap().len();
        assert!(total <= 2 * MAX_BYTES);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_log_is_made_with_its_mode_in_a_directory_of_ours() {
        let dir = temp_dir("sendlog-mode");
        let path = dir.join("new/dir").join(FILE_NAME);
        append(&path, &report(1)).unwrap();
        assert_eq!(mode_of(&path), atomic_file::FILE_MODE);
        assert_eq!(mode_of(&dir.join("new/dir")), atomic_file::DIR_MODE);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_planted_link_is_refused_and_its_target_untouched() {
        let dir = temp_dir("sendlog-link");
        let victim = dir.join("victim");
        fs::write(&victim, b"precious").unwrap();
        let path = dir.join(FILE_NAME);
        symlink(&victim, &path).unwrap();
        let err = append(&path, &report(1)).unwrap_err();
        assert_eq!(err.to_string(), "it is a symbolic link, which is never followed");
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        // A dangling link: following it would create the file it names.
        fs::remove_file(&path).unwrap();
        symlink(dir.join("made-through-the-link"), &path).unwrap();
        assert!(append(&path, &report(1)).is_err());
        assert!(!dir.join("made-through-the-link").exists());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_fifo_or_directory_in_its_place_is_refused_at_once() {
        let dir = temp_dir("sendlog-fifo");
        let path = dir.join(FILE_NAME);
        fifo(&path);
        let appended = {
            let path = path.clone();
            within_5s(move || append(&path, &report(1)).map_err(|e| e.to_string()))
        };
        assert_eq!(appended, Err("it is a FIFO, not a regular file".to_owned()));
        fs::remove_file(&path).unwrap();
        fs::create_dir(&path).unwrap();
        assert_eq!(
            append(&path, &report(1)).unwrap_err().to_string(),
            "it is a directory, not a regular file"
        );
        fs::remove_dir_all(dir).unwrap();
    }
}
