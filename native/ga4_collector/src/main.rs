//! `ga4_collector [--port N]`: runs the local GA4 collector until its standard input
//! closes, so a test or demo that started it as a port never leaves it behind.
//! Prints `listening on 127.0.0.1:PORT` once ready.

use std::io::{self, Read, Write};
use std::process::ExitCode;

use ga4_collector::Collector;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut port = 0u16;
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next().map(|v| v.parse::<u16>())) {
            ("--port", Some(Ok(p))) => port = p,
            _ => {
                eprintln!("usage: ga4_collector [--port N]");
                return ExitCode::from(2);
            }
        }
    }
    let collector = match Collector::bind(&format!("127.0.0.1:{port}")) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ga4_collector: cannot listen on 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on {}", collector.address());
    let _ = io::stdout().flush();
    // Block until the parent closes our stdin (or goes away).
    let _ = io::stdin().read_to_end(&mut Vec::new());
    ExitCode::SUCCESS
}
