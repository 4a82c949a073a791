//! The CPU cost of one report cycle for a large deployment (1,000 host types of 40
//! modules, 200 listeners, 100 pools), network excluded: reading the facts, merging,
//! building and checking the events, encoding the requests, and writing the report file.
//! Prints one Markdown table row per phase; `make bench` gathers them.

use std::time::{Duration, Instant};

use mongoose_system_metrics_core::encoded::EncodedEvents;
use mongoose_system_metrics_core::events::StanzaBaseline;
use mongoose_system_metrics_core::value::Value;
use mongoose_system_metrics_core::{aggregate, atomic_file, events, facts, ga4, limits, report};

const MODULES: [&str; 40] = [
    "mod_adhoc",
    "mod_amp",
    "mod_auth_token",
    "mod_blocking",
    "mod_bosh",
    "mod_caps",
    "mod_carboncopy",
    "mod_csi",
    "mod_disco",
    "mod_event_pusher",
    "mod_extdisco",
    "mod_http_upload",
    "mod_inbox",
    "mod_keystore",
    "mod_last",
    "mod_mam",
    "mod_muc",
    "mod_muc_light",
    "mod_offline",
    "mod_ping",
    "mod_presence",
    "mod_privacy",
    "mod_private",
    "mod_pubsub",
    "mod_push_service_mongoosepush",
    "mod_register",
    "mod_roster",
    "mod_sic",
    "mod_smart_markers",
    "mod_stream_management",
    "mod_time",
    "mod_vcard",
    "mod_version",
    "mod_blocklist",
    "mod_stanzaid",
    "mod_sasl2",
    "mod_bind2",
    "mod_custom_one",
    "mod_custom_two",
    "mod_custom_three",
];

fn large_facts() -> Value {
    let pair = |k: &str, v: Value| (Value::atom(k), v);
    let opts = Value::Map(vec![pair("backend", Value::atom("rdbms"))]);
    let modules = Value::Map(MODULES.iter().map(|m| (Value::atom(m), opts.clone())).collect());
    let host_types: Vec<Value> = (0..1000).map(|i| Value::binary(&format!("host{i}.example.com"))).collect();
    let listener = Value::Map(vec![
        pair("module", Value::atom("mongoose_c2s_listener")),
        pair("proto", Value::atom("tcp")),
        pair("tls_mode", Value::atom("starttls")),
    ]);
    Value::Map(vec![
        pair("uptime_ms", Value::Integer(123_456_789)),
        pair("version", Value::charlist("6.8.0")),
        pair("node_count", Value::Integer(3)),
        pair("host_types", Value::List(host_types.clone())),
        pair("domain_count", Value::Integer(5000)),
        pair("modules", Value::Map(host_types.into_iter().map(|h| (h, modules.clone())).collect())),
        pair("listeners", Value::List(vec![listener; 200])),
        pair("outgoing_pools", Value::List(vec![Value::atom("rdbms"); 100])),
        pair("components", Value::Integer(4)),
        pair("config_file", Value::charlist("/etc/mongooseim/mongooseim.toml")),
    ])
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn measure<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    measure_with(runs, || (), |()| f())
}

/// Like `measure`, with an input made afresh for each run and not timed.
fn measure_with<I, T>(runs: usize, mut setup: impl FnMut() -> I, mut f: impl FnMut(I) -> T) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let input = setup();
                let started = Instant::now();
                std::hint::black_box(f(input));
                started.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let value = large_facts();
    let dir = std::env::temp_dir().join(format!("msm-bench-{}", std::process::id()));
    let file = dir.join("system_metrics_report.json");
    let runs = 15;
    let parse = measure(runs, || facts::parse(&value).expect("facts"));
    let parsed = facts::parse(&value).expect("facts");
    let build = measure_with(
        runs,
        || parsed.clone(),
        |facts| limits::enforce(events::build(&aggregate::merge(facts), &StanzaBaseline::new())),
    );
    let (built, adjustments) =
        limits::enforce(events::build(&aggregate::merge(parsed.clone()), &StanzaBaseline::new()));
    // Each event is encoded once; the requests are made of those bytes.
    let encode = measure(runs, || {
        let encoded = EncodedEvents::new(built.clone());
        ga4::request_bodies("0b4c4c55-8f5a-4e0e-9d6c-1f0f4a6c9b3e", encoded.json())
    });
    let encoded = EncodedEvents::new(built.clone());
    let bodies = ga4::request_bodies("0b4c4c55-8f5a-4e0e-9d6c-1f0f4a6c9b3e", encoded.json());
    let the_report = report::Report::new(
        mongoose_system_metrics_core::mode::Mode::On,
        "cid",
        encoded,
        adjustments,
        vec![],
    );
    let write = measure(runs, || atomic_file::replace(&file, &the_report.file_bytes()).expect("written"));
    let total = parse + build + encode + write;
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    println!("| report cycle, large deployment: read facts | {} | |", ms(parse));
    println!("| report cycle, large deployment: build and check {} events | {} | |", built.len(), ms(build));
    println!("| report cycle, large deployment: encode {} requests | {} | |", bodies.len(), ms(encode));
    println!(
        "| report cycle, large deployment: write the {} kB report file | {} | |",
        the_report.file_bytes().len() / 1024,
        ms(write)
    );
    println!("| report cycle, large deployment: total CPU (network excluded) | {} | (context) |", ms(total));
    let _ = std::fs::remove_dir_all(dir);
}
