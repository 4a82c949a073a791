#!/usr/bin/env python3
"""The usage server's dashboard in a real headless Chromium.

Runs against the server USAGE_SERVER_URL names (already started, with known reports
ingested) and checks that the overview draws what USAGE_EXPECT describes, that a
deployment's page lists its events, that a chart's CSV link answers CSV, that the browser
logged no error and asked no host but the server, and saves a full-page screenshot.

Environment:
  USAGE_SERVER_URL   the server's base URL, e.g. http://127.0.0.1:8300/ (required)
  USAGE_EXPECT       path of a JSON file describing what must be drawn (required):
    {
      "range": {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"},   optional; default the page's own
      "deployments": ["<client id>", ...],                 exactly the table's client ids
      "versions": {"6.3.3": 2, "6.8.0": 1},                bar label -> value, exactly
      "modules": {"mod_muc (rdbms)": 1, "mod_disco": 2},
      "cluster_sizes": {"1": 2, "3": 1},
      "transports": {"tcp": 3}, "http_apis": {"mongoose_graphql_handler": 1},
      "deployments_per_day": {"YYYY-MM-DD": 2},            days left out must be drawn as 0
      "traffic": {"xmppMessageSent": {"YYYY-MM-DD": 120}}, likewise, per stanza type
      "deployment": {"client_id": "...", "events": ["cluster", ...]}
                                        optional: the page to open (default the first of
                                        "deployments") and its newest report's event names
    }
    A chart left out is not compared (it must still draw or show its empty state); a chart
    given as {} must show "no data in this range".
  USAGE_SCREENSHOT   where to save the overview's screenshot (default _build/usage-dashboard.png
                     in the repository); the deployment page's goes beside it (-deployment.png)
  USAGE_READ_TOKEN   the server's read token, when it has one (the test signs in through /login)
  USAGE_TIMEOUT      seconds to wait for each condition (default 20)
  CHROMIUM, CHROMEDRIVER   the browser and its driver (default /usr/bin/chromium, /usr/bin/chromedriver)

Exit status: 0 when every check passed, 1 when one failed, 2 when the test could not run.
"""

import base64
import json
import math
import os
import shutil
import sys
import tempfile
import traceback
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

REPO = Path(__file__).resolve().parents[4]
BAR_CHARTS = ["versions", "modules", "cluster_sizes", "transports", "http_apis"]
LINE_CHARTS = ["deployments_per_day", "traffic"]
CHROME_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1280,900", "--force-device-scale-factor=1",
    "--lang=en-US",
]


class Failure(Exception):
    pass


class CannotRun(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def ok(message):
    print(f"ok: {message}", flush=True)


def numbers_equal(a, b):
    try:
        return math.isclose(float(a), float(b), rel_tol=0, abs_tol=1e-9)
    except (TypeError, ValueError):
        return False


class DashboardTest:
    def __init__(self):
        base = os.environ.get("USAGE_SERVER_URL", "").strip()
        if not base:
            raise CannotRun("USAGE_SERVER_URL is not set: give the running server's base URL")
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise CannotRun(f"USAGE_SERVER_URL is not an http(s) URL: {base!r}")
        self.base = f"{parts.scheme}://{parts.netloc}"
        self.origin_host = parts.netloc.lower()
        expect_path = os.environ.get("USAGE_EXPECT", "").strip()
        if not expect_path:
            raise CannotRun("USAGE_EXPECT is not set: give the path of a JSON file describing what must be drawn")
        try:
            self.expect = json.loads(Path(expect_path).read_text())
        except (OSError, ValueError) as err:
            raise CannotRun(f"USAGE_EXPECT {expect_path}: {err}") from None
        if not isinstance(self.expect, dict):
            raise CannotRun(f"USAGE_EXPECT {expect_path}: expected a JSON object")
        unknown = set(self.expect) - set(BAR_CHARTS + LINE_CHARTS + ["range", "deployments", "deployment"])
        if unknown:
            raise CannotRun(f"USAGE_EXPECT {expect_path}: unknown keys {sorted(unknown)}")
        shot = os.environ.get("USAGE_SCREENSHOT", "").strip()
        self.screenshot = Path(shot) if shot else REPO / "_build" / "usage-dashboard.png"
        self.token = os.environ.get("USAGE_READ_TOKEN") or None
        self.timeout = float(os.environ.get("USAGE_TIMEOUT", "20"))
        self.chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
        self.chromedriver = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
        self.driver = None
        self.profile = None
        self.console = []
        self.requests = []

    # ---- The browser ------------------------------------------------------------------

    def start_browser(self):
        try:
            from selenium import webdriver
            from selenium.webdriver.chrome.options import Options
            from selenium.webdriver.chrome.service import Service
        except ImportError:
            raise CannotRun("selenium is not installed: run scripts/ensure-browser.sh and use the python it prints") from None
        for path in (self.chromium, self.chromedriver):
            if not os.access(path, os.X_OK):
                raise CannotRun(f"{path} not found: run scripts/ensure-browser.sh")
        self.profile = tempfile.mkdtemp(prefix="usage-dashboard-chromium-")
        options = Options()
        options.binary_location = self.chromium
        for flag in CHROME_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self.profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        try:
            self.driver = webdriver.Chrome(service=Service(executable_path=self.chromedriver), options=options)
        except Exception as err:  # noqa: BLE001 - any start-up failure means the test cannot run
            raise CannotRun(f"Chromium did not start: {err}") from None
        self.driver.set_page_load_timeout(self.timeout)
        self.driver.set_script_timeout(self.timeout)

    def stop_browser(self):
        if self.driver is not None:
            try:
                self.driver.quit()
            except Exception:  # noqa: BLE001 - quitting a broken session must not hide the verdict
                pass
        if self.profile:
            shutil.rmtree(self.profile, ignore_errors=True)

    def collect_logs(self):
        """Keeps what the browser logged since the last call (reading a log empties it)."""
        for entry in self.driver.get_log("browser"):
            if entry.get("level") != "SEVERE":
                continue
            self.console.append(entry.get("message", ""))
        for entry in self.driver.get_log("performance"):
            try:
                message = json.loads(entry["message"])["message"]
            except (KeyError, ValueError):
                continue
            if message.get("method") == "Network.requestWillBeSent":
                self.requests.append(message["params"]["request"]["url"])
            elif message.get("method") == "Network.webSocketCreated":
                self.requests.append(message["params"]["url"])

    def wait(self, what, condition):
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait
        try:
            return WebDriverWait(self.driver, self.timeout, poll_frequency=0.1).until(condition)
        except TimeoutException:
            raise Failure(f"timed out after {self.timeout:g} s waiting for {what}") from None

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def fetch(self, url):
        """Fetches a same-origin URL from the page, with its cookies, as a reader's click would."""
        return self.driver.execute_async_script(
            """
            const [url, done] = arguments;
            fetch(url, {credentials: 'same-origin'})
              .then((r) => r.text().then((text) => done({status: r.status, type: r.headers.get('content-type') || '', text})))
              .catch((err) => done({status: 0, type: '', text: String(err)}));
            """,
            url,
        )

    def save_screenshot(self, path):
        metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        clip = {"x": 0, "y": 0, "width": math.ceil(size["width"]), "height": math.ceil(size["height"]), "scale": 1}
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    # ---- Pages --------------------------------------------------------------------------

    def wait_page(self, page):
        try:
            state = self.wait(
                f"the {page} page to load its data (body[data-state] set by /assets/app.js)",
                lambda d: d.execute_script(
                    "const s = document.body && document.body.dataset.state;"
                    "return s && s !== 'loading' ? s : null;"),
            )
        except Failure as err:
            shows = self.js("return [document.title, document.body ? document.body.innerText.slice(0, 160) : ''];")
            raise Failure(f"{err}; {self.driver.current_url} shows title {shows[0]!r}, text {shows[1]!r}") from None
        if state == "auth":
            if self.token:
                raise Failure("the page asks for a read token although USAGE_READ_TOKEN signed in")
            raise Failure("the server wants a read token: set USAGE_READ_TOKEN")
        if state == "error":
            alert = self.js("const a = document.getElementById('alert'); return a && !a.hidden ? a.textContent : '';")
            raise Failure(f"the {page} page shows an error: {alert.strip() or '(no message)'}")
        check(state == "ready", f"the {page} page ended in state {state!r}")

    def open_overview(self):
        if self.token:
            self.driver.get(f"{self.base}/login?token={quote(self.token, safe='')}")
            self.wait("/login to lead to the overview", lambda d: urlsplit(d.current_url).path == "/")
        query = ""
        rng = self.expect.get("range")
        if rng:
            query = f"?from={quote(rng['from'])}&to={quote(rng['to'])}"
        self.driver.get(f"{self.base}/{query}")
        self.wait_page("overview")
        title = self.js("return document.querySelector('header h1') && document.querySelector('header h1').textContent;")
        check((title or "").strip() == "MongooseIM usage", f"the header reads {title!r}, not 'MongooseIM usage'")
        ok(f"the overview loaded from {self.base}/{query}")

    def drawn_charts(self):
        return self.js(
            """
            const out = {};
            for (const c of document.querySelectorAll('[data-chart]')) {
              if (c.parentElement && c.parentElement.closest('[data-chart]')) continue;
              out[c.dataset.chart] = {
                state: c.dataset.state || '',
                text: c.textContent.trim(),
                marks: Array.from(c.querySelectorAll('[data-label]')).map((m) => ({
                  label: m.getAttribute('data-label'),
                  value: m.getAttribute('data-value'),
                  series: m.getAttribute('data-series'),
                })),
              };
            }
            return out;
            """
        )

    def range_shown(self):
        return self.js(
            "const f = document.querySelector('input[name=from]'), t = document.querySelector('input[name=to]');"
            "return f && t ? [f.value, t.value] : null;")

    # ---- Checks -----------------------------------------------------------------------

    def check_charts(self):
        charts = self.drawn_charts()
        for name in BAR_CHARTS + LINE_CHARTS:
            check(name in charts, f"no element with data-chart={name!r} on the overview")
        for name, chart in charts.items():
            check(chart["state"] in ("ready", "empty"),
                  f"chart {name}: state {chart['state']!r} ({chart['text'][:200]})")
            if chart["state"] == "empty":
                check(not chart["marks"], f"chart {name}: says it is empty yet has {len(chart['marks'])} marks")
                check("no data in this range" in chart["text"].lower(),
                      f"chart {name}: empty without saying 'no data in this range'")
            else:
                check(chart["marks"], f"chart {name}: drawn without any data-label/data-value mark")
                for mark in chart["marks"]:
                    check(mark["value"] is not None and numbers_equal(mark["value"], mark["value"]),
                          f"chart {name}: mark {mark['label']!r} has data-value {mark['value']!r}, not a number")

        shown = self.range_shown()
        check(shown is not None, "the overview has no from/to date inputs")
        days = self.days_of(*shown)
        if self.expect.get("range"):
            check(shown == [self.expect["range"]["from"], self.expect["range"]["to"]],
                  f"the date inputs show {shown}, not the range asked for")

        for name in BAR_CHARTS:
            if name not in self.expect:
                continue
            expected = {str(k): v for k, v in self.expect[name].items()}
            chart = charts[name]
            if not expected:
                check(chart["state"] == "empty", f"chart {name}: expected the empty state, got {len(chart['marks'])} bars")
                ok(f"{name}: empty, as expected")
                continue
            check(chart["state"] == "ready", f"chart {name}: expected {len(expected)} bars, got the empty state")
            drawn = {}
            for mark in chart["marks"]:
                check(mark["label"] not in drawn, f"chart {name}: bar {mark['label']!r} drawn twice")
                drawn[mark["label"]] = mark["value"]
            missing = sorted(set(expected) - set(drawn))
            extra = sorted(set(drawn) - set(expected))
            check(not missing, f"chart {name}: no bar for {missing} (drawn: {sorted(drawn)})")
            check(not extra, f"chart {name}: unexpected bars {extra}")
            for label, value in expected.items():
                check(numbers_equal(drawn[label], value),
                      f"chart {name}: bar {label!r} is {drawn[label]}, expected {value}")
            ok(f"{name}: {len(expected)} bars as expected")

        if "deployments_per_day" in self.expect:
            expected = self.expect["deployments_per_day"]
            chart = charts["deployments_per_day"]
            stray = sorted(set(expected) - set(days))
            check(not stray, f"USAGE_EXPECT: deployments_per_day days {stray} fall outside the range shown {shown}")
            if not any(float(v) for v in expected.values()):
                check(chart["state"] == "empty", "chart deployments_per_day: expected the empty state")
                ok("deployments_per_day: empty, as expected")
            else:
                check(chart["state"] == "ready", "chart deployments_per_day: expected points, got the empty state")
                drawn = {m["label"]: m["value"] for m in chart["marks"]}
                check(sorted(drawn) == days and len(chart["marks"]) == len(days),
                      f"chart deployments_per_day: points for {len(drawn)} days, expected one for each of the {len(days)} days")
                for day in days:
                    check(numbers_equal(drawn[day], expected.get(day, 0)),
                          f"chart deployments_per_day: {day} is {drawn[day]}, expected {expected.get(day, 0)}")
                ok(f"deployments_per_day: {len(days)} points as expected")

        if "traffic" in self.expect:
            expected = self.expect["traffic"]
            chart = charts["traffic"]
            if not expected:
                check(chart["state"] == "empty", "chart traffic: expected the empty state")
                ok("traffic: empty, as expected")
            else:
                check(chart["state"] == "ready", "chart traffic: expected lines, got the empty state")
                drawn = {}
                for mark in chart["marks"]:
                    check(mark["series"], f"chart traffic: point {mark['label']!r} has no data-series")
                    drawn.setdefault(mark["series"], {})[mark["label"]] = mark["value"]
                check(set(drawn) == set(expected),
                      f"chart traffic: lines for {sorted(drawn)}, expected {sorted(expected)}")
                for series, per_day in expected.items():
                    stray = sorted(set(per_day) - set(days))
                    check(not stray, f"USAGE_EXPECT: traffic {series} days {stray} fall outside the range shown {shown}")
                    check(sorted(drawn[series]) == days,
                          f"chart traffic: {series} has points for {len(drawn[series])} days, expected {len(days)}")
                    for day in days:
                        check(numbers_equal(drawn[series][day], per_day.get(day, 0)),
                              f"chart traffic: {series} on {day} is {drawn[series][day]}, expected {per_day.get(day, 0)}")
                legend = self.js("return Array.from(document.querySelectorAll('[data-chart=traffic] .legend li')).map((li) => li.textContent);")
                for series in expected:
                    check(any(series in item for item in legend), f"chart traffic: no legend entry for {series}")
                ok(f"traffic: {len(expected)} lines of {len(days)} days as expected, with a legend")

    def check_table(self):
        rows = self.js(
            """
            return Array.from(document.querySelectorAll('#deployments tbody tr[data-client-id]')).map((tr) => {
              const a = tr.querySelector('a');
              return {id: tr.getAttribute('data-client-id'), text: a ? a.textContent : null,
                      href: a ? a.getAttribute('href') : null, cells: tr.cells.length};
            });
            """
        )
        state = self.js("return document.getElementById('deployments').dataset.state;")
        ids = [row["id"] for row in rows]
        check(len(set(ids)) == len(ids), f"the deployments table lists a client id twice: {ids}")
        for row in rows:
            check(row["text"] == row["id"], f"the table's link reads {row['text']!r} for client id {row['id']!r}")
            check(row["href"] == "/deployments/" + quote(row["id"], safe="-_.!~*'()"),
                  f"the link of {row['id']!r} goes to {row['href']!r}")
            check(row["cells"] >= 5, f"the row of {row['id']!r} has {row['cells']} cells, expected at least 5")
        if "deployments" in self.expect:
            expected = [str(i) for i in self.expect["deployments"]]
            if not expected:
                check(state == "empty", f"the deployments table: expected none, got {ids}")
            missing = sorted(set(expected) - set(ids))
            extra = sorted(set(ids) - set(expected))
            check(not missing, f"the deployments table does not list {missing}")
            check(not extra, f"the deployments table lists unexpected {extra}")
            stat = self.js("const s = document.querySelector('[data-stat=deployments]'); return s ? s.textContent : null;")
            if stat is not None:
                check(stat.replace(",", "") == str(len(expected)), f"the summary counts {stat} deployments, expected {len(expected)}")
        ok(f"the deployments table lists {len(ids)} client ids, each linking to its page")
        return rows

    def check_exports(self):
        charts = self.drawn_charts()
        name = next((n for n in BAR_CHARTS + LINE_CHARTS if charts[n]["state"] == "ready"), BAR_CHARTS[0])
        links = self.js(
            """
            const out = {};
            const card = document.querySelector('[data-chart="' + arguments[0] + '"]').closest('section, .card');
            for (const a of card.querySelectorAll('a')) out[a.textContent.trim()] = a.href;
            return out;
            """,
            name,
        )
        check("CSV" in links and "JSON" in links, f"chart {name}: no CSV and JSON links under it (links: {sorted(links)})")
        shown = self.range_shown()
        for kind in ("CSV", "JSON"):
            url = urlsplit(links[kind])
            check(url.netloc.lower() == self.origin_host, f"chart {name}: the {kind} link leaves the server: {links[kind]}")
            check(url.path == f"/api/charts/{name}", f"chart {name}: the {kind} link goes to {url.path}")
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            check([query.get("from"), query.get("to")] == shown,
                  f"chart {name}: the {kind} link's range {query.get('from')}..{query.get('to')} is not the range shown {shown}")
            check(query.get("format") == kind.lower(), f"chart {name}: the {kind} link has format={query.get('format')}")
        csv = self.fetch(links["CSV"])
        check(csv["status"] == 200, f"chart {name}: the CSV link answered {csv['status']}: {csv['text'][:200]}")
        check(csv["type"].split(";")[0].strip().lower() == "text/csv",
              f"chart {name}: the CSV link answered Content-Type {csv['type']!r}")
        lines = [line for line in csv["text"].splitlines() if line.strip()]
        check(lines and not any(ch.isdigit() for ch in lines[0].split(",")[-1]),
              f"chart {name}: the CSV has no header row: {lines[:1]}")
        rows = lines[1:]
        if name in BAR_CHARTS:
            check(len(rows) == len(charts[name]["marks"]),
                  f"chart {name}: the CSV has {len(rows)} rows for {len(charts[name]['marks'])} bars")
        answer = self.fetch(links["JSON"])
        check(answer["status"] == 200, f"chart {name}: the JSON link answered {answer['status']}")
        try:
            data = json.loads(answer["text"])
        except ValueError:
            raise Failure(f"chart {name}: the JSON link answered no JSON: {answer['text'][:200]}") from None
        check(isinstance(data, list), f"chart {name}: the JSON link answered {type(data).__name__}, not a list")
        ok(f"{name}: the CSV link answers CSV ({lines[0]!r} and {len(rows)} rows) and the JSON link JSON")

    def check_deployment(self, rows):
        wanted = (self.expect.get("deployment") or {}).get("client_id")
        if wanted is None:
            if not rows:
                print("skip: no deployment listed, so no deployment page to open", flush=True)
                return False
            wanted = (self.expect.get("deployments") or [rows[0]["id"]])[0]
        found = self.js(
            """
            for (const tr of document.querySelectorAll('#deployments tbody tr[data-client-id]')) {
              if (tr.getAttribute('data-client-id') === arguments[0]) {
                const a = tr.querySelector('a');
                a.scrollIntoView({block: 'center'});
                return a;
              }
            }
            return null;
            """,
            wanted,
        )
        check(found is not None, f"no link to the page of {wanted!r} in the deployments table")
        found.click()
        self.wait(f"the page of {wanted!r}", lambda d: urlsplit(d.current_url).path.startswith("/deployments/"))
        self.wait_page("deployment")
        heading = self.js("return document.getElementById('client-id').textContent;")
        check(heading == wanted, f"the deployment page is titled {heading!r}, not {wanted!r}")

        reports = self.js(
            """
            return Array.from(document.querySelectorAll('[data-report]')).map((r) => ({
              received: r.getAttribute('data-received'),
              open: r.open === true,
              text: r.querySelector('summary') ? r.querySelector('summary').textContent : '',
              events: Array.from(r.querySelectorAll('[data-event]')).map((e) => ({
                name: e.getAttribute('data-event'),
                params: Array.from(e.querySelectorAll('[data-param]')).map((p) => [
                  p.getAttribute('data-param'), p.querySelector('.value') ? p.querySelector('.value').textContent : null]),
              })),
            }));
            """
        )
        check(reports, f"the page of {wanted!r} lists no report")
        check(reports[0]["open"], "the newest report is not shown open")
        first_event_visible = self.js(
            "const e = document.querySelector('[data-report] [data-event]'); return !!e && e.getBoundingClientRect().height > 0;")
        check(first_event_visible, "the newest report's events are not visible")
        received = [r["received"] for r in reports]
        check(received == sorted(received, reverse=True), f"the reports are not newest first: {received[:5]}")

        answer = self.fetch("/api/deployments/" + quote(wanted, safe=""))
        check(answer["status"] == 200, f"/api/deployments/{wanted}: answered {answer['status']}")
        api = json.loads(answer["text"])
        api_reports = api.get("reports") or []
        check(len(reports) == len(api_reports),
              f"the page lists {len(reports)} reports, the API {len(api_reports)}")
        newest = reports[0]
        api_newest = max(api_reports, key=lambda r: r["received_at"])
        names = [e["name"] for e in newest["events"]]
        check(names == [e["name"] for e in api_newest["events"]],
              f"the newest report's events on the page {names} are not the API's {[e['name'] for e in api_newest['events']]}")
        for shown, sent in zip(newest["events"], api_newest["events"]):
            params = sent.get("params") or {}
            check([k for k, _ in shown["params"]] == list(params),
                  f"event {sent['name']}: parameters {[k for k, _ in shown['params']]} on the page, {list(params)} sent")
            for key, text in shown["params"]:
                value = params[key]
                same = text == value if isinstance(value, str) else (
                    numbers_equal(text, value) if isinstance(value, (int, float)) and not isinstance(value, bool)
                    else json.loads(text) == value)
                check(same, f"event {sent['name']}: {key} = {text!r} on the page, {value!r} sent")
        expected_events = (self.expect.get("deployment") or {}).get("events")
        if expected_events is not None:
            missing = sorted(set(expected_events) - set(names))
            extra = sorted(set(names) - set(expected_events))
            check(not missing and not extra,
                  f"the newest report's events: missing {missing}, unexpected {extra}")
        ok(f"the page of {wanted!r} lists {len(reports)} reports, newest first; the newest shows its "
           f"{len(names)} events and their parameters as sent")
        path = self.screenshot.with_name(self.screenshot.stem + "-deployment" + self.screenshot.suffix)
        ok(f"screenshot of the deployment page: {self.save_screenshot(path)}")
        return True

    def check_preset(self):
        before = self.range_shown()
        self.driver.find_element("css selector", "button[data-days='7']").click()
        self.wait("the 7-day preset to redraw the overview", lambda d: d.execute_script(
            """
            const c = document.querySelector('[data-chart=deployments_per_day]');
            const state = document.body.dataset.state;
            if (state !== 'ready' || !/[?&]from=/.test(location.search)) return false;
            return c.dataset.state === 'empty' || c.querySelectorAll('[data-label]').length === 7;
            """))
        shown = self.range_shown()
        days = self.days_of(*shown)
        check(len(days) == 7, f"after the 7-day preset the inputs show {shown}")
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.driver.current_url).query).items()}
        check([query.get("from"), query.get("to")] == shown,
              f"the URL's query {query} does not keep the range {shown}")
        pressed = self.js("return document.querySelector(\"button[data-days='7']\").getAttribute('aria-pressed');")
        check(pressed == "true", "the 7-day preset is not shown pressed")
        self.driver.back()
        self.wait("going back to restore the range", lambda d: d.execute_script(
            "const f = document.querySelector('input[name=from]'), t = document.querySelector('input[name=to]');"
            "return document.body.dataset.state === 'ready' && [f.value, t.value];") == before)
        ok(f"the 7-day preset redraws {shown[0]}..{shown[1]} and keeps it in the URL; going back restores {before[0]}..{before[1]}")

    def check_network_and_console(self):
        self.collect_logs()
        others = sorted({u for u in self.requests
                         if urlsplit(u).scheme in ("http", "https", "ws", "wss")
                         and urlsplit(u).netloc.lower() != self.origin_host})
        check(not others, f"the browser asked hosts other than the server: {others}")
        check(any(urlsplit(u).path.startswith("/api/") for u in self.requests),
              "no request to /api/ was recorded: the network log is not working")
        check(not self.console, "the browser console logged errors:\n  " + "\n  ".join(self.console))
        ok(f"{len(self.requests)} requests, all to {self.origin_host}; no console error")

    @staticmethod
    def days_of(first, last):
        from datetime import date, timedelta
        try:
            a, b = date.fromisoformat(first), date.fromisoformat(last)
        except ValueError:
            raise Failure(f"the date inputs show {first!r} and {last!r}, not dates") from None
        return [(a + timedelta(days=i)).isoformat() for i in range((b - a).days + 1)]

    # ---- The run ------------------------------------------------------------------------

    def preflight(self):
        """The server answers / before a browser starts, or the test says why not."""
        request = urllib.request.Request(f"{self.base}/")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=self.timeout) as response:
                content_type = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as err:
            if err.code == 401:
                what = "does not take USAGE_READ_TOKEN" if self.token else "wants a read token: set USAGE_READ_TOKEN"
                raise Failure(f"{self.base}/ answered 401: the server {what}") from None
            raise Failure(f"{self.base}/ answered {err.code}") from None
        except (urllib.error.URLError, OSError) as err:
            raise CannotRun(f"{self.base}/ does not answer: {getattr(err, 'reason', err)}") from None
        check(content_type.startswith("text/html"), f"{self.base}/ answered Content-Type {content_type!r}, not HTML")

    def run(self):
        self.preflight()
        self.start_browser()
        try:
            self.open_overview()
            self.check_charts()
            rows = self.check_table()
            self.check_exports()
            self.collect_logs()
            ok(f"screenshot of the overview: {self.save_screenshot(self.screenshot)}")
            if self.check_deployment(rows):
                self.collect_logs()
                self.driver.back()
                self.wait_page("overview")
            self.check_preset()
            self.check_network_and_console()
        except Exception:
            self.failure_screenshot()
            raise
        finally:
            self.stop_browser()

    def failure_screenshot(self):
        try:
            self.collect_logs()
            if self.console:
                print("browser console errors:\n  " + "\n  ".join(self.console), file=sys.stderr)
            print(f"screenshot at the failure: {self.save_screenshot(self.screenshot)}", file=sys.stderr)
        except Exception:  # noqa: BLE001 - the failure itself is what must be reported
            pass


def main():
    try:
        test = DashboardTest()
        test.run()
    except CannotRun as err:
        print(f"dashboard test could not run: {err}", file=sys.stderr)
        return 2
    except Failure as err:
        print(f"FAIL: {err}", file=sys.stderr)
        return 1
    except Exception as err:  # noqa: BLE001 - a WebDriver error is a failure too, with its trace
        traceback.print_exc()
        print(f"FAIL: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print("PASS: the dashboard draws what the server reports", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
