//! `mongoose_usage_server [--listen ADDR] [--database URL] [--stream ID=SECRET]...
//! [--read-token TOKEN] [--retention-days N] [--config FILE]`; see `API.md`.
//! Exit status: 0 after a stop signal, 2 when it cannot start, 1 when serving fails.

use std::process::ExitCode;
use std::time::Duration;

use mongoose_usage_server::config::{self, Command, USAGE};
use mongoose_usage_server::server::{self, Failure};

fn main() -> ExitCode {
    let args = std::env::args_os().skip(1).map(|arg| arg.to_string_lossy().into_owned());
    let config = match config::load(args, &|name| std::env::var(name).ok()) {
        Ok(Command::Run(config)) => config,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => return fail(&error.0, 2),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return fail(&format!("cannot start the runtime: {error}"), 2),
    };
    let outcome = runtime.block_on(server::run(*config));
    // A database call stuck past the grace period must not keep the process alive.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Startup(message)) => fail(&message, 2),
        Err(Failure::Serving(message)) => fail(&message, 1),
    }
}

/// One line on stderr, then the exit status.
fn fail(message: &str, status: u8) -> ExitCode {
    eprintln!("mongoose_usage_server: {}", message.replace(['\n', '\r'], " "));
    ExitCode::from(status)
}
