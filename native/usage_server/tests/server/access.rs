//! The read token: every read needs it, by header or login cookie; ingest, health and the
//! static assets never do.

use serde_json::json;

use crate::support::{report, Database, Server};

const TOKEN: &str = "read-T0ken-for-tests";

fn reads_need_the_token_and_ingest_does_not(database: &Database) {
    let server = Server::start(database, &["--read-token", TOKEN]);
    let bearer = format!("Bearer {TOKEN}");
    let reads =
        ["/", "/deployments/c", "/api/deployments", "/api/deployments/c", "/api/charts/versions", "/metrics"];
    for path in reads {
        let refused = server.get(path);
        assert_eq!((refused.status, refused.header("www-authenticate")), (401, Some("Bearer")), "{path}");
        let wrong = server.request("GET", path, &[("authorization", "Bearer not-the-token")], b"");
        assert_eq!(wrong.status, 401, "{path}");
        let allowed = server.request("GET", path, &[("authorization", &bearer)], b"");
        assert_ne!(allowed.status, 401, "{path}");
    }

    for path in ["/healthz", "/assets/app.js", "/assets/style.css"] {
        assert_eq!(server.get(path).status, 200, "{path}");
    }
    let body =
        json!({"client_id": "c", "events": [{"name": "host_count", "params": {"value": 1}}]}).to_string();
    assert_eq!(server.post(&report::collect_path(), "application/json", body.as_bytes()).status, 204);
    let batch = "v=1&tid=UA-1-1&cid=u&t=event&ec=hosts&ea=count&el=1";
    assert_eq!(server.post("/batch", "text/plain", batch.as_bytes()).status, 200);
    let listed = server.request("GET", "/api/deployments", &[("authorization", &bearer)], b"").json();
    assert_eq!(listed.as_array().map(Vec::len), Some(2));

    assert_eq!(server.get("/login?token=not-the-token").status, 401);
    assert_eq!(server.get("/login").status, 401);
    assert_eq!(server.get(&format!("/login?token={TOKEN}&next=x")).status, 400);
    let login = server.get(&format!("/login?token={TOKEN}"));
    assert_eq!((login.status, login.header("location")), (303, Some("/")));
    let cookie = login.header("set-cookie").expect("a cookie").to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains(TOKEN), "the cookie holds a digest, not the token");
    let pair = cookie.split(';').next().expect("name=value");
    for path in ["/", "/api/deployments", "/metrics"] {
        assert_eq!(server.request("GET", path, &[("cookie", pair)], b"").status, 200, "{path}");
    }
    let forged =
        server.request("GET", "/api/deployments", &[("cookie", "mongoose_usage_session=forged")], b"");
    assert_eq!(forged.status, 401);

    let logs = server.settled_logs().join("\n");
    assert!(!logs.contains(TOKEN), "the token never shows in a log: {logs}");
}
on_both_databases!(reads_need_the_token_and_ingest_does_not);

fn without_a_token_reads_are_open(database: &Database) {
    let server = Server::start(database, &[]);
    assert_eq!(server.get("/api/deployments").status, 200);
    let login = server.get("/login");
    assert_eq!((login.status, login.header("set-cookie")), (303, None));
}
on_both_databases!(without_a_token_reads_are_open);
