//! Legacy Universal Analytics hits, for `UA-XXXX-Y` tracking ids of old configurations:
//! `v=1&tid=..&cid=..&t=event&ec=..&ea=..&el=..`, URL-encoded, posted to `/batch` in
//! groups of at most 20 hits and 16 KB, no hit over 8 KB (Measurement Protocol v1,
//! "Batch limitations"). Events map to category, action and label as MongooseIM's UA
//! reports did. Google stopped processing UA data in July 2023; these hits reach a
//! property only where something still reads them.

use url::form_urlencoded;

use crate::events::{Event, Param};

/// Hits in one batch.
pub const MAX_HITS_PER_BATCH: usize = 20;
/// Bytes of one batch body.
pub const MAX_BATCH_BYTES: usize = 16 * 1024;
/// Bytes of one hit.
pub const MAX_HIT_BYTES: usize = 8 * 1024;

/// One event as category, action and label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Triple {
    /// `ec`
    pub category: String,
    /// `ea`
    pub action: String,
    /// `el`
    pub label: String,
}

fn triple(category: &str, action: &str, label: impl Into<String>) -> Triple {
    Triple { category: category.to_owned(), action: action.to_owned(), label: label.into() }
}

fn text(param: &Param) -> String {
    match param {
        Param::Int(n) => n.to_string(),
        Param::Str(s) => s.to_string(),
    }
}

/// The UA triples of one event, after MongooseIM's UA reports.
pub fn triples(event: &Event) -> Vec<Triple> {
    let p = |key: &str| event.params.get(key).map(text);
    match &*event.name {
        "host_count" => p("value").map(|v| triple("hosts", "count", v)).into_iter().collect(),
        "domain_count" => p("value").map(|v| triple("domains", "count", v)).into_iter().collect(),
        "custom_module_count" => {
            p("value").map(|v| triple("custom_modules", "count", v)).into_iter().collect()
        }
        "module_with_opt" => {
            let Some(module) = p("module") else { return vec![] };
            let options: Vec<Triple> = event
                .params
                .iter()
                .filter(|(k, _)| *k != "module")
                .map(|(k, v)| triple(&module, k, text(v)))
                .collect();
            if options.is_empty() {
                vec![triple(&module, "none", "none")]
            } else {
                options
            }
        }
        "cluster" => [
            ("uptime", "uptime"),
            ("node_number", "number_of_nodes"),
            ("version", "mim_version"),
            ("component", "number_of_components"),
            ("config_type", "config_type"),
        ]
        .iter()
        .filter_map(|(param, action)| p(param).map(|v| triple("cluster", action, v)))
        .collect(),
        "http_api" | "transport_mechanism" => {
            event.params.iter().map(|(k, v)| triple(&event.name, k, text(v))).collect()
        }
        "tls_option" => match (p("mode"), p("module")) {
            (Some(mode), Some(module)) => vec![triple("tls_option", &mode, module)],
            _ => vec![],
        },
        "outgoing_pool" => {
            p("value").map(|kind| triple("outgoing_pools", "type", kind)).into_iter().collect()
        }
        "xmpp_stanza_count" => match (p("stanza_type"), p("total"), p("increment")) {
            (Some(kind), Some(total), Some(increment)) => vec![triple(&kind, &total, increment)],
            _ => vec![],
        },
        _ => vec![],
    }
}

/// Every hit of a report, URL-encoded.
pub fn hits(tracking_id: &str, client_id: &str, events: &[Event]) -> Vec<String> {
    events
        .iter()
        .flat_map(triples)
        .map(|t| {
            form_urlencoded::Serializer::new(String::new())
                .append_pair("v", "1")
                .append_pair("tid", tracking_id)
                .append_pair("cid", client_id)
                .append_pair("t", "event")
                .append_pair("ec", &t.category)
                .append_pair("ea", &t.action)
                .append_pair("el", &t.label)
                .finish()
        })
        .collect()
}

/// The batch bodies, one hit a line; hits over [`MAX_HIT_BYTES`] are left out and
/// counted in the second element.
pub fn batches(hits: &[String]) -> (Vec<Vec<u8>>, usize) {
    let mut batches = Vec::new();
    let mut body: Vec<u8> = Vec::new();
    let mut count = 0;
    let mut too_big = 0;
    for hit in hits {
        if hit.len() > MAX_HIT_BYTES {
            too_big += 1;
            continue;
        }
        let needed = if count == 0 { hit.len() } else { body.len() + 1 + hit.len() };
        if count == MAX_HITS_PER_BATCH || (count > 0 && needed > MAX_BATCH_BYTES) {
            batches.push(std::mem::take(&mut body));
            count = 0;
        }
        if count > 0 {
            body.push(b'\n');
        }
        body.extend_from_slice(hit.as_bytes());
        count += 1;
    }
    if count > 0 {
        batches.push(body);
    }
    (batches, too_big)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, params: &[(&str, Param)]) -> Event {
        Event {
            name: name.to_owned().into(),
            params: params.iter().map(|(k, v)| ((*k).to_owned().into(), v.clone())).collect(),
        }
    }

    fn t(c: &str, a: &str, l: &str) -> Triple {
        triple(c, a, l)
    }

    #[test]
    fn events_map_to_mongooseims_ua_reports() {
        let cases = vec![
            (event("host_count", &[("value", Param::Int(2))]), vec![t("hosts", "count", "2")]),
            (event("domain_count", &[("value", Param::Int(5))]), vec![t("domains", "count", "5")]),
            (
                event("custom_module_count", &[("value", Param::Int(1))]),
                vec![t("custom_modules", "count", "1")],
            ),
            (
                event(
                    "module_with_opt",
                    &[
                        ("module", Param::from("mod_muc")),
                        ("backend", Param::from("rdbms")),
                        ("online_backend", Param::from("cets")),
                    ],
                ),
                vec![t("mod_muc", "backend", "rdbms"), t("mod_muc", "online_backend", "cets")],
            ),
            (
                event("module_with_opt", &[("module", Param::from("mod_ping"))]),
                vec![t("mod_ping", "none", "none")],
            ),
            (
                event(
                    "cluster",
                    &[
                        ("uptime", Param::from("0001-00:00:00")),
                        ("version", Param::from("6.8.0")),
                        ("node_number", Param::Int(3)),
                        ("component", Param::Int(0)),
                        ("config_type", Param::from("toml")),
                    ],
                ),
                vec![
                    t("cluster", "uptime", "0001-00:00:00"),
                    t("cluster", "number_of_nodes", "3"),
                    t("cluster", "mim_version", "6.8.0"),
                    t("cluster", "number_of_components", "0"),
                    t("cluster", "config_type", "toml"),
                ],
            ),
            (
                event("http_api", &[("mongoose_graphql_handler", Param::from("enabled"))]),
                vec![t("http_api", "mongoose_graphql_handler", "enabled")],
            ),
            (
                event("transport_mechanism", &[("tcp", Param::from("enabled"))]),
                vec![t("transport_mechanism", "tcp", "enabled")],
            ),
            (
                event(
                    "tls_option",
                    &[("mode", Param::from("starttls")), ("module", Param::from("just_tls"))],
                ),
                vec![t("tls_option", "starttls", "just_tls")],
            ),
            (
                event("outgoing_pool", &[("value", Param::from("rdbms"))]),
                vec![t("outgoing_pools", "type", "rdbms")],
            ),
            (
                event(
                    "xmpp_stanza_count",
                    &[
                        ("stanza_type", Param::from("xmppMessageSent")),
                        ("total", Param::Int(12)),
                        ("increment", Param::Int(1)),
                    ],
                ),
                vec![t("xmppMessageSent", "12", "1")],
            ),
        ];
        for (e, expected) in cases {
            assert_eq!(triples(&e), expected, "{}", e.name);
        }
    }

    #[test]
    fn hits_are_url_encoded_with_the_required_fields() {
        let events = [event(
            "module_with_opt",
            &[("module", Param::from("mod a&b")), ("backend", Param::from("x=y"))],
        )];
        let hits = hits("UA-1-2", "cid 1", &events);
        assert_eq!(hits, ["v=1&tid=UA-1-2&cid=cid+1&t=event&ec=mod+a%26b&ea=backend&el=x%3Dy"]);
    }

    #[test]
    fn batches_hold_at_most_20_hits_and_16_kb() {
        let small: Vec<String> = (0..41).map(|i| format!("v=1&el={i}")).collect();
        let (b, dropped) = batches(&small);
        assert_eq!(b.iter().map(|b| b.split(|c| *c == b'\n').count()).collect::<Vec<_>>(), [20, 20, 1]);
        assert_eq!(dropped, 0);
        let one_k: Vec<String> = (0..20).map(|_| "x".repeat(1024)).collect();
        let (b, _) = batches(&one_k);
        assert!(
            b.iter().all(|b| b.len() <= MAX_BATCH_BYTES),
            "{:?}",
            b.iter().map(Vec::len).collect::<Vec<_>>()
        );
        assert_eq!(b.len(), 2);
        let (b, dropped) = batches(&["y".repeat(MAX_HIT_BYTES + 1), "ok".to_owned()]);
        assert_eq!((b, dropped), (vec![b"ok".to_vec()], 1));
        let (b, _) = batches(&["z".repeat(MAX_HIT_BYTES)]);
        assert_eq!(b.len(), 1, "8 KB exactly is allowed");
    }
}
