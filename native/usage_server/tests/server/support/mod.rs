//! Running the binary for a test: on a database of the test's own, reading the URL it
//! prints, collecting its log lines, and stopping it at the end.

pub mod http;
pub mod postgres;
pub mod report;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

pub use self::http::Response;
use self::postgres::FreshDatabase;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_mongoose_usage_server");
/// The GA4 stream every test server accepts.
pub const GA4_ID: &str = "G-TEST1";
/// Its API secret.
pub const GA4_SECRET: &str = "test-secret-1";
/// The UA property every test server accepts.
pub const UA_ID: &str = "UA-1-1";

/// Settings read from the environment, removed so that the caller's never leak in.
const SERVER_VARIABLES: [&str; 6] = [
    "MONGOOSE_USAGE_LISTEN",
    "MONGOOSE_USAGE_DATABASE",
    "MONGOOSE_USAGE_STREAMS",
    "MONGOOSE_USAGE_READ_TOKEN",
    "MONGOOSE_USAGE_RETENTION_DAYS",
    "MONGOOSE_USAGE_CONFIG",
];

/// Runs a scenario `fn(&Database)` as two tests: on SQLite, and on PostgreSQL when
/// `MONGOOSE_USAGE_TEST_POSTGRES` is set (saying so on stderr when it is not).
macro_rules! on_both_databases {
    ($scenario:ident) => {
        mod $scenario {
            #[test]
            fn sqlite() {
                super::$scenario(&crate::support::Database::sqlite(stringify!($scenario)));
            }

            #[test]
            fn postgres() {
                if let Some(database) = crate::support::Database::postgres(module_path!()) {
                    super::$scenario(&database);
                }
            }
        }
    };
}

/// A directory of its own under Cargo's temporary directory, removed afterwards.
pub struct TempDir(pub PathBuf);

static NEXT_DIR: AtomicU32 = AtomicU32::new(0);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let n = NEXT_DIR.fetch_add(1, Ordering::SeqCst);
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("usage_{name}_{}_{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The database of one test.
pub enum Database {
    Sqlite(TempDir),
    Postgres(FreshDatabase),
}

impl Database {
    pub fn sqlite(test: &str) -> Database {
        Database::Sqlite(TempDir::new(test))
    }

    pub fn postgres(test: &str) -> Option<Database> {
        postgres::fresh_database(test).map(Database::Postgres)
    }

    /// The `--database` URL.
    pub fn url(&self) -> String {
        match self {
            Database::Sqlite(dir) => format!("sqlite:{}", dir.0.join("usage.sqlite3").display()),
            Database::Postgres(database) => database.url.clone(),
        }
    }

    /// The URL as the library's store opens it.
    pub fn store_url(&self) -> mongoose_usage_server::config::DatabaseUrl {
        use mongoose_usage_server::config::{DatabaseUrl, Secret};
        match self {
            Database::Sqlite(dir) => DatabaseUrl::Sqlite(dir.0.join("usage.sqlite3")),
            Database::Postgres(database) => DatabaseUrl::Postgres(Secret::new(database.url.clone())),
        }
    }
}

/// A running server.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT/`.
    pub url: String,
    /// `127.0.0.1:PORT`.
    pub address: String,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
}

/// How a server that did not start ended.
#[derive(Debug)]
pub struct Exit {
    pub status: ExitStatus,
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
}

impl Server {
    /// A server on `database`, accepting the test stream and property, with more flags.
    pub fn start(database: &Database, flags: &[&str]) -> Server {
        let mut args: Vec<String> = vec![
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--database".into(),
            database.url(),
            "--stream".into(),
            format!("{GA4_ID}={GA4_SECRET}"),
            "--stream".into(),
            UA_ID.into(),
        ];
        args.extend(flags.iter().map(|flag| (*flag).to_owned()));
        Server::spawn(&args, &[]).unwrap_or_else(|exit| panic!("the server did not start: {exit:?}"))
    }

    /// Runs the binary with exactly these arguments and environment variables; the server
    /// once it prints its URL, or how it ended.
    pub fn spawn(args: &[String], env: &[(&str, &str)]) -> Result<Server, Exit> {
        let mut command = Command::new(BIN);
        command.args(args).current_dir(env!("CARGO_TARGET_TMPDIR"));
        for name in SERVER_VARIABLES {
            command.env_remove(name);
        }
        command.envs(env.iter().copied()).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("the binary starts");
        let (stdout, stderr) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
        let (first_line, url_line) = mpsc::channel();
        let out = child.stdout.take().expect("piped stdout");
        let err = child.stderr.take().expect("piped stderr");
        let readers = vec![
            collect_lines(out, Arc::clone(&stdout), Some(first_line)),
            collect_lines(err, Arc::clone(&stderr), None),
        ];
        let mut server =
            Server { child, url: String::new(), address: String::new(), stdout, stderr, readers };
        match url_line.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                let url = line
                    .strip_prefix("mongoose_usage_server listening on ")
                    .expect("the announced URL")
                    .to_owned();
                server.address = url.trim_start_matches("http://").trim_end_matches('/').to_owned();
                server.url = url;
                Ok(server)
            }
            Err(_) => {
                let status =
                    server.wait(Duration::from_secs(30)).expect("the server ends without printing its URL");
                Err(Exit { status, stdout: server.stdout(), stderr: server.logs() })
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its stderr lines so far.
    pub fn logs(&self) -> Vec<String> {
        self.stderr.lock().expect("log lock").clone()
    }

    /// Its stdout lines so far.
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().expect("stdout lock").clone()
    }

    /// Its log lines parsed, each must be one JSON object.
    pub fn log_events(&self) -> Vec<serde_json::Value> {
        self.logs()
            .iter()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
            .collect()
    }

    /// Its log lines, once every line written before this call has been read: a request
    /// to a path of its own is logged after them, and waited for.
    pub fn settled_logs(&self) -> Vec<String> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let marker = format!("/settle-{}", NEXT.fetch_add(1, Ordering::SeqCst));
        assert_eq!(self.get(&marker).status, 404);
        let logged = format!("\"route\":\"{marker}\"");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let logs = self.logs();
            if logs.iter().any(|line| line.contains(&logged)) {
                return logs;
            }
            thread::sleep(Duration::from_millis(10));
        }
        panic!("the log never showed {marker}");
    }

    /// [`Server::settled_logs`], parsed.
    pub fn settled_events(&self) -> Vec<serde_json::Value> {
        self.settled_logs()
            .iter()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
            .collect()
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], b"")
    }

    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> Response {
        self.request("POST", path, &[("content-type", content_type)], body)
    }

    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        http::exchange(&self.address, &http::request(method, path, headers, body))
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let sent = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status().expect("kill runs");
        assert!(sent.success(), "kill -TERM failed");
    }

    /// Sends SIGKILL, and waits for the end.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The exit status, once it ends within `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                for reader in self.readers.drain(..) {
                    let _ = reader.join();
                }
                return Some(status);
            }
            thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads lines into `lines`; the first one also goes to `first`.
fn collect_lines(
    stream: impl std::io::Read + Send + 'static,
    lines: Arc<Mutex<Vec<String>>>,
    first: Option<mpsc::Sender<String>>,
) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut first = first;
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if let Some(sender) = first.take() {
                let _ = sender.send(line.clone());
            }
            lines.lock().expect("lines lock").push(line);
        }
    })
}

/// The metric's value in a `/metrics` text, 0 when absent.
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok()).unwrap_or(0.0)
}
