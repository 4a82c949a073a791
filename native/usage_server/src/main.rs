//! `mongoose_usage_server [--database URL] [--stream ID=SECRET]... [--config FILE]`: checks
//! its settings and brings the database's schema up to date.
//! Exit status: 0 when done, 2 on a bad setting or a database it cannot open.

use std::process::ExitCode;

use mongoose_usage_server::config::{self, Command, USAGE};
use mongoose_usage_server::store::Store;

fn main() -> ExitCode {
    let args = std::env::args_os().skip(1).map(|arg| arg.to_string_lossy().into_owned());
    let config = match config::load(args, &|name| std::env::var(name).ok()) {
        Ok(Command::Run(config)) => config,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => return fail(&error.0),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return fail(&format!("cannot start the runtime: {error}")),
    };
    runtime.block_on(async {
        match Store::open(&config.database).await {
            Ok(store) => {
                store.close().await;
                ExitCode::SUCCESS
            }
            Err(error) => fail(&format!("--database: {error}")),
        }
    })
}

/// One line on stderr, then exit status 2.
fn fail(message: &str) -> ExitCode {
    eprintln!("mongoose_usage_server: {}", message.replace(['\n', '\r'], " "));
    ExitCode::from(2)
}
