//! A hostile HTTP server for the tests: it answers and then writes without end, to prove
//! that no answer is read past its cap and that the connection is hung up on.

use std::time::Duration;

use tokio::time::Instant;

use super::test_support::quick;
use super::Policy;

/// What a hostile server wrote on one connection after its answer's head.
#[derive(Debug)]
pub(super) struct Written {
    body_bytes: u64,
    closed_by_client: bool,
}

/// Stops a hostile server that the client never hangs up on.
const HOSTILE_LIMIT: u64 = 1 << 30;

/// A real HTTP server on 127.0.0.1 that answers every request with `head` and then
/// writes body without end (as chunks when `chunked`, else raw bytes after a
/// Content-Length of its own) until the client hangs up; each connection reports
/// what it wrote on the returned channel.
pub(super) fn hostile(head: &'static str, chunked: bool) -> (String, std::sync::mpsc::Receiver<Written>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (report, written) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let report = report.clone();
            std::thread::spawn(move || {
                stream.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
                // The request: its head, then as much body as it announced.
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                let head_end = loop {
                    let n = stream.read(&mut buffer).unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buffer[..n]);
                    if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        break at + 4;
                    }
                };
                let announced = String::from_utf8_lossy(&request[..head_end])
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse().ok())?
                    })
                    .unwrap_or(0usize);
                let mut left = announced.saturating_sub(request.len() - head_end);
                while left > 0 {
                    match stream.read(&mut buffer) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => left = left.saturating_sub(n),
                    }
                }
                if stream.write_all(head.as_bytes()).is_err() {
                    let _ = report.send(Written { body_bytes: 0, closed_by_client: true });
                    return;
                }
                let block = vec![b'x'; 16 * 1024];
                let mut framed = format!("{:x}\r\n", block.len()).into_bytes();
                framed.extend_from_slice(&block);
                framed.extend_from_slice(b"\r\n");
                let piece = if chunked { &framed } else { &block };
                let mut body_bytes = 0;
                let closed_by_client = loop {
                    if body_bytes >= HOSTILE_LIMIT {
                        break false;
                    }
                    match stream.write_all(piece) {
                        Ok(()) => body_bytes += piece.len() as u64,
                        Err(e) => {
                            break e.kind() != std::io::ErrorKind::WouldBlock
                                && e.kind() != std::io::ErrorKind::TimedOut
                        }
                    }
                };
                let _ = report.send(Written { body_bytes, closed_by_client });
            });
        }
    });
    (url, written)
}

/// Waits, on the runtime the client's connections live on, for `n` connections of a
/// hostile server to end: an answer left unread must close its connection, not park it.
pub(super) async fn hung_up(written: &std::sync::mpsc::Receiver<Written>, n: usize) -> Vec<Written> {
    let mut ended = Vec::new();
    let give_up = Instant::now() + Duration::from_secs(10);
    while ended.len() < n && Instant::now() < give_up {
        match written.try_recv() {
            Ok(w) => ended.push(w),
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    ended
}

/// Far more than the kernel's socket buffers hold, far less than a reader that never
/// stops takes in the test's time limits.
const WRITTEN_BOUND: u64 = 128 << 20;

pub(super) fn patient() -> Policy {
    Policy { request_timeout: Duration::from_secs(20), deadline: Duration::from_secs(30), ..quick() }
}

pub(super) const ENDLESS_200: &str =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
pub(super) const HUGE_200: &str =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2147483648\r\n\r\n";
pub(super) const ENDLESS_500: &str =
    "HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n";

pub(super) fn assert_hung_up_early(ended: &[Written], n: usize) {
    assert_eq!(ended.len(), n, "every connection ends while the client runs: {ended:?}");
    for w in ended {
        assert!(w.closed_by_client, "the client hung up: {w:?}");
        assert!(w.body_bytes < WRITTEN_BOUND, "the client stopped reading early: {w:?}");
    }
}
