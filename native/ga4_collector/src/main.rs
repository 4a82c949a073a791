//! `ga4_collector [--port N] [--tls-dir DIR]`: runs the local GA4 collector until its
//! standard input closes, so a test or demo that started it as a port never leaves it
//! behind. Prints `listening on 127.0.0.1:PORT` once ready. With `--tls-dir` it speaks
//! HTTPS and writes the PEM of its own CA to `DIR/ca.pem`.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use ga4_collector::Collector;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut port = 0u16;
    let mut tls_dir = None;
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--port", Some(p)) if p.parse::<u16>().is_ok() => port = p.parse().unwrap_or(0),
            ("--tls-dir", Some(dir)) => tls_dir = Some(PathBuf::from(dir)),
            _ => {
                eprintln!("usage: ga4_collector [--port N] [--tls-dir DIR]");
                return ExitCode::from(2);
            }
        }
    }
    let address = format!("127.0.0.1:{port}");
    let started = match &tls_dir {
        None => Collector::bind(&address),
        Some(_) => Collector::bind_tls(&address),
    };
    let collector = match started {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ga4_collector: cannot listen on {address}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let (Some(dir), Some(pem)) = (&tls_dir, collector.ca_pem()) {
        if let Err(e) = std::fs::write(dir.join("ca.pem"), pem) {
            eprintln!("ga4_collector: cannot write {}: {e}", dir.join("ca.pem").display());
            return ExitCode::FAILURE;
        }
    }
    println!("listening on {}", collector.address());
    let _ = io::stdout().flush();
    // Block until the parent closes our stdin (or goes away).
    let _ = io::stdin().read_to_end(&mut Vec::new());
    ExitCode::SUCCESS
}
