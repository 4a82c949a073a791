#!/usr/bin/env python3
"""A stand-in for mongoose_usage_server's read side, for working on the dashboard alone.

It serves the four dashboard assets from native/usage_server/assets (read on every
request, so an edit shows on reload) and answers the read API of the contract
(/work/usage_server_spec.md, "Read API") from canned reports of a few deployments, made
relative to today: the overview's charts, the deployments list, a deployment's reports,
JSON or CSV, 400 on bad parameters, 404 for an unknown client id, and, with --read-token,
401 until `GET /login?token=...` has set the cookie. Every answer carries
`Content-Security-Policy: default-src 'self'`, as the real server's do.

    python3 stub_server.py [--port 8301] [--read-token T] [--expect FILE] [--empty]

Once listening it prints `usage server stub listening on http://HOST:PORT/`. --expect writes
what the overview must draw for the default range (the last 30 days), in the format the
browser test reads from USAGE_EXPECT. --empty keeps no reports, to see the empty states.
Only the Python standard library is used.
"""

import argparse
import csv
import hmac
import io
import json
import random
import sys
import time
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

ASSETS = Path(__file__).resolve().parents[2] / "assets"
DAY_MS = 86_400_000
CSP = "default-src 'self'"
COOKIE = "mongoose_usage_token"
STANZA_TYPES = [
    "xmppMessageSent", "xmppMessageReceived", "xmppIqSent",
    "xmppIqReceived", "xmppPresenceSent", "xmppPresenceReceived",
]
PAGES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/assets/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/assets/style.css": ("style.css", "text/css; charset=utf-8"),
}
CHART_COLUMNS = {
    "deployments_per_day": ["day", "deployments"],
    "versions": ["version", "deployments"],
    "modules": ["module", "backend", "deployments"],
    "cluster_sizes": ["nodes", "deployments"],
    "transports": ["transport", "deployments"],
    "http_apis": ["api", "deployments"],
    "traffic": ["day", "stanza_type", "increment"],
}


class BadRequest(Exception):
    pass


# ---- Canned reports --------------------------------------------------------------------

def ev(name, **params):
    return {"name": name, "params": params}


def ga4_events(version, nodes, modules, transports, apis, traffic):
    events = [ev("host_count", value=1), ev("domain_count", value=2)]
    for module, backend in modules:
        events.append(ev("module_with_opt", module=module, **({"backend": backend} if backend else {})))
    events.append(ev("custom_module_count", value=0))
    events.append(ev("cluster", uptime="0012-04:31:07", version=version, component=0,
                     node_number=nodes, config_type="toml"))
    events.append(ev("http_api", **{api: "enabled" for api in apis}))
    events.append(ev("transport_mechanism", **{t: "enabled" for t in transports}))
    events.append(ev("tls_option", mode="starttls", module="just_tls"))
    events.append(ev("outgoing_pool", value="rdbms"))
    for stanza_type in STANZA_TYPES:
        total, increment = traffic[stanza_type]
        events.append(ev("xmpp_stanza_count", stanza_type=stanza_type, total=total, increment=increment))
    return events


def canned_reports(now_ms):
    """A few deployments' reports over the last 60 days, the same on every run of a day."""
    rng = random.Random(20240501)
    today_ms = now_ms - now_ms % DAY_MS
    reports = []
    deployments = [
        {
            "client_id": "8d2c6c1e-3b5f-4a51-9d0e-6f1f0b7e2a10", "stream": "G-7QX2M4K9LP",
            "every": 1, "days": 60, "version": "6.3.3", "nodes": 3, "scale": 40_000,
            "modules": [("mod_muc", "rdbms"), ("mod_mam", "rdbms"), ("mod_offline", "rdbms"),
                        ("mod_roster", "rdbms"), ("mod_disco", ""), ("mod_ping", ""),
                        ("mod_event_pusher", "push"), ("mod_event_pusher", "sns"), ("mod_carboncopy", "")],
            "transports": ["tcp", "mod_bosh", "mod_websockets"],
            "apis": ["mongoose_graphql_handler", "mongoose_admin_api"],
        },
        {
            "client_id": "c41e0f52-9a7b-4d8e-b1c3-2e5d6f708192", "stream": "G-7QX2M4K9LP",
            "every": 2, "days": 45, "version": "6.8.0", "nodes": 1, "scale": 6_000,
            "modules": [("mod_muc", "mnesia"), ("mod_mam", "rdbms"), ("mod_offline", "mnesia"),
                        ("mod_roster", "mnesia"), ("mod_disco", ""), ("mod_stream_management", "mnesia")],
            "transports": ["tcp", "mod_websockets"],
            "apis": ["mongoose_graphql_handler"],
        },
        {
            "client_id": "acme/eu-west?x=1&y=<2>#top", "stream": "G-7QX2M4K9LP",
            "every": 3, "days": 20, "version": "6.3.3", "nodes": 2, "scale": 12_000,
            "modules": [("mod_muc", "rdbms"), ("mod_disco", ""), ("mod_ping", ""), ("mod_roster", "rdbms")],
            "transports": ["tcp"],
            "apis": [],
        },
        {
            "client_id": "5a9e7d44-10c2-4f6b-8e33-b7a0d9c1f2e5", "stream": "G-7QX2M4K9LP",
            "every": 1, "days": 5, "version": "6.2.1", "nodes": 1, "scale": 1_500,
            "modules": [("mod_disco", ""), ("mod_roster", "rdbms"), ("mod_offline", "rdbms")],
            "transports": ["tcp", "mod_bosh"],
            "apis": ["mongoose_admin_api"],
        },
    ]
    for d in deployments:
        totals = {t: 0 for t in STANZA_TYPES}
        for back in range(d["days"] - 1, -1, -d["every"]):
            received = today_ms - back * DAY_MS + (9 * 3600 + rng.randrange(3600)) * 1000
            if received > now_ms:
                received = now_ms - rng.randrange(60_000)
            traffic = {}
            for k, stanza_type in enumerate(STANZA_TYPES):
                weight = (6, 5, 3, 3, 1.5, 1.2)[k]
                increment = int(d["scale"] * weight * d["every"] * rng.uniform(0.7, 1.3))
                totals[stanza_type] += increment
                traffic[stanza_type] = (totals[stanza_type], increment)
            events = ga4_events(d["version"], d["nodes"], d["modules"], d["transports"], d["apis"], traffic)
            if d["client_id"].startswith("acme"):
                events.append(ev("custom_event", note="<script>alert('x')</script> & \"quotes\""))
            reports.append({"received_ms": received, "stream": d["stream"], "client_id": d["client_id"],
                            "protocol": "ga4", "events": events})
    for back in (40, 26, 12, 2):
        reports.append({
            "received_ms": today_ms - back * DAY_MS + 14 * 3600 * 1000,
            "stream": "UA-1234567-1", "client_id": "1726354455.1699999999", "protocol": "ua",
            "events": [ev("cluster", action="version", label="4.2.0"),
                       ev("cluster", action="node_number", label="2", value="2"),
                       ev("module", action="mod_muc", label="mnesia")],
        })
    return reports


# ---- The contract's queries ------------------------------------------------------------

def rfc3339(ms):
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_of(ms):
    return (datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=ms)).date()


def parse_range(query):
    today = datetime.now(timezone.utc).date()
    out = {}
    for name, default in (("from", today - timedelta(days=29)), ("to", today)):
        values = query.get(name)
        if not values:
            out[name] = default
            continue
        try:
            out[name] = date.fromisoformat(values[0])
            if len(values[0]) != 10:
                raise ValueError
        except ValueError:
            raise BadRequest(f"{name}: expected a date YYYY-MM-DD") from None
    if out["from"] > out["to"]:
        raise BadRequest("from: after to")
    return out["from"], out["to"]


def in_range(reports, first, last):
    return [r for r in reports if first <= day_of(r["received_ms"]) <= last]


def latest_ga4(reports):
    latest = {}
    for r in reports:
        if r["protocol"] == "ga4":
            best = latest.get(r["client_id"])
            if best is None or r["received_ms"] > best["received_ms"]:
                latest[r["client_id"]] = r
    return latest


def cluster_param(report, name):
    for e in report["events"]:
        if e["name"] == "cluster" and name in e["params"]:
            return e["params"][name]
    return None


def count_rows(counts, key_names):
    rows = []
    for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))):
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(key_names, key)), "deployments": n})
    return rows


def chart(name, reports, first, last):
    reports = in_range(reports, first, last)
    latest = latest_ga4(reports).values()
    counts = {}
    if name == "deployments_per_day":
        per_day = {}
        for r in reports:
            per_day.setdefault(day_of(r["received_ms"]), set()).add(r["client_id"])
        days = (last - first).days + 1
        return [{"day": (first + timedelta(days=i)).isoformat(),
                 "deployments": len(per_day.get(first + timedelta(days=i), ()))} for i in range(days)]
    if name == "traffic":
        sums = {}
        for r in reports:
            for e in r["events"]:
                if e["name"] == "xmpp_stanza_count":
                    key = (day_of(r["received_ms"]).isoformat(), e["params"]["stanza_type"])
                    sums[key] = sums.get(key, 0) + int(e["params"]["increment"])
        return [{"day": d, "stanza_type": t, "increment": n} for (d, t), n in sorted(sums.items())]
    if name in ("versions", "cluster_sizes"):
        param = "version" if name == "versions" else "node_number"
        for r in latest:
            value = cluster_param(r, param)
            if value is not None:
                counts[value] = counts.get(value, 0) + 1
        return count_rows(counts, ["version" if name == "versions" else "nodes"])
    if name == "modules":
        for r in latest:
            used = {(e["params"].get("module", ""), e["params"].get("backend", ""))
                    for e in r["events"] if e["name"] == "module_with_opt"}
            for key in used:
                counts[key] = counts.get(key, 0) + 1
        return count_rows(counts, ["module", "backend"])
    if name in ("transports", "http_apis"):
        event = "transport_mechanism" if name == "transports" else "http_api"
        for r in latest:
            used = {k for e in r["events"] if e["name"] == event for k, v in e["params"].items() if v == "enabled"}
            for key in used:
                counts[key] = counts.get(key, 0) + 1
        return count_rows(counts, ["transport" if name == "transports" else "api"])
    return None


def deployments(reports, first, last):
    by_client = {}
    for r in in_range(reports, first, last):
        by_client.setdefault(r["client_id"], []).append(r)
    latest = latest_ga4(in_range(reports, first, last))
    rows = []
    for client_id, rs in by_client.items():
        rs.sort(key=lambda r: r["received_ms"])
        newest = latest.get(client_id)
        rows.append({
            "client_id": client_id, "stream": rs[-1]["stream"],
            "first_report": rfc3339(rs[0]["received_ms"]), "last_report": rfc3339(rs[-1]["received_ms"]),
            "reports": len(rs),
            "version": cluster_param(newest, "version") if newest else None,
            "node_count": cluster_param(newest, "node_number") if newest else None,
        })
    rows.sort(key=lambda row: row["last_report"], reverse=True)
    return rows


def deployment(reports, client_id, limit):
    rs = sorted((r for r in reports if r["client_id"] == client_id), key=lambda r: -r["received_ms"])
    if not rs:
        return None
    return {"client_id": client_id, "reports": [
        {"received_at": rfc3339(r["received_ms"]), "stream": r["stream"], "protocol": r["protocol"],
         "events": r["events"]} for r in rs[:limit]]}


def to_csv(name, rows):
    out = io.StringIO()
    columns = CHART_COLUMNS.get(name) or (list(rows[0].keys()) if rows else [])
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def expectation(reports):
    """What the overview must draw for the default range, as USAGE_EXPECT describes it."""
    today = datetime.now(timezone.utc).date()
    first, last = today - timedelta(days=29), today

    def bars(name, label):
        return {label(row): row["deployments"] for row in chart(name, reports, first, last)}

    traffic = {}
    for row in chart("traffic", reports, first, last):
        traffic.setdefault(row["stanza_type"], {})[row["day"]] = row["increment"]
    listed = deployments(reports, first, last)
    detailed = deployment(reports, listed[0]["client_id"], 50) if listed else None
    return {
        "deployments": [d["client_id"] for d in listed],
        "deployments_per_day": {r["day"]: r["deployments"]
                                for r in chart("deployments_per_day", reports, first, last) if r["deployments"]},
        "traffic": traffic,
        "versions": bars("versions", lambda r: str(r["version"])),
        "modules": bars("modules", lambda r: f"{r['module']} ({r['backend']})" if r["backend"] else r["module"]),
        "cluster_sizes": bars("cluster_sizes", lambda r: str(r["nodes"])),
        "transports": bars("transports", lambda r: r["transport"]),
        "http_apis": bars("http_apis", lambda r: r["api"]),
        "deployment": {
            "client_id": detailed["client_id"],
            "events": sorted({e["name"] for e in detailed["reports"][0]["events"]}),
        } if detailed else None,
    }


# ---- HTTP --------------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    server_version = "usage-stub"
    reports = []
    read_token = None
    verbose = False

    def log_message(self, fmt, *args):
        if self.verbose:
            sys.stderr.write("stub: " + (fmt % args) + "\n")

    def send(self, status, body, content_type, extra=None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def json(self, status, value):
        self.send(status, json.dumps(value), "application/json")

    def authorised(self):
        if not self.read_token:
            return True
        given = None
        header = self.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            given = header[len("Bearer "):]
        for part in self.headers.get("Cookie", "").split(";"):
            key, _, value = part.strip().partition("=")
            if key == COOKIE:
                given = unquote(value)
        return given is not None and hmac.compare_digest(given.encode(), self.read_token.encode())

    def do_HEAD(self):
        self.do_GET()

    def do_POST(self):
        self.send(405, "method not allowed\n", "text/plain; charset=utf-8")

    def do_GET(self):
        url = urlsplit(self.path)
        path, query = url.path, parse_qs(url.query, keep_blank_values=True)
        if path == "/healthz":
            return self.send(200, "ok\n", "text/plain; charset=utf-8")
        if path == "/login":
            token = (query.get("token") or [""])[0]
            if self.read_token and hmac.compare_digest(token.encode(), self.read_token.encode()):
                cookie = f"{COOKIE}={quote(token)}; Path=/; HttpOnly; SameSite=Strict"
                return self.send(303, "", "text/plain", {"Location": "/", "Set-Cookie": cookie})
            return self.send(401, "wrong token\n", "text/plain; charset=utf-8")
        if not self.authorised():
            if path.startswith("/api/"):
                return self.json(401, {"error": "read token required"})
            return self.send(401, "read token required\n", "text/plain; charset=utf-8")
        if path in PAGES or path.startswith("/deployments/"):
            file, content_type = PAGES.get(path, ("deployment.html", "text/html; charset=utf-8"))
            return self.send(200, (ASSETS / file).read_bytes(), content_type)
        try:
            return self.api(path, query)
        except BadRequest as err:
            return self.json(400, {"error": str(err)})

    def api(self, path, query):
        fmt = (query.get("format") or ["json"])[0]
        if fmt not in ("json", "csv"):
            raise BadRequest("format: expected json or csv")
        if path.startswith("/api/charts/"):
            first, last = parse_range(query)
            name = path[len("/api/charts/"):]
            rows = chart(name, self.reports, first, last)
            if rows is None:
                return self.json(404, {"error": "no such chart"})
            if fmt == "csv":
                return self.send(200, to_csv(name, rows), "text/csv; charset=utf-8")
            return self.json(200, rows)
        if path == "/api/deployments":
            first, last = parse_range(query)
            rows = deployments(self.reports, first, last)
            if fmt == "csv":
                return self.send(200, to_csv("deployments", rows), "text/csv; charset=utf-8")
            return self.json(200, rows)
        if path.startswith("/api/deployments/"):
            client_id = unquote(path[len("/api/deployments/"):])
            raw = (query.get("limit") or ["50"])[0]
            if not raw.isdigit() or not 1 <= int(raw) <= 1000:
                raise BadRequest("limit: expected a number from 1 to 1000")
            found = deployment(self.reports, client_id, int(raw))
            if found is None:
                return self.json(404, {"error": "unknown client_id"})
            return self.json(200, found)
        return self.send(404, "not found\n", "text/plain; charset=utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8301)
    parser.add_argument("--read-token")
    parser.add_argument("--expect", help="write what the overview must draw to this file")
    parser.add_argument("--empty", action="store_true", help="keep no reports")
    parser.add_argument("--verbose", action="store_true", help="log each request on stderr")
    args = parser.parse_args()

    Handler.reports = [] if args.empty else canned_reports(int(time.time() * 1000))
    Handler.read_token = args.read_token
    Handler.verbose = args.verbose
    if args.expect:
        Path(args.expect).write_text(json.dumps(expectation(Handler.reports), indent=2) + "\n")
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    host, port = server.server_address[:2]
    print(f"usage server stub listening on http://{host}:{port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
