//! Where delivery goes and how it connects: the rules a base URL must follow (https, or
//! http to this machine's loopback), the CA bundle trusted besides the system's roots,
//! the HTTP client built from both, and the URL of each request.

use std::fmt::Write as _;
use std::path::Path;

use reqwest::{Certificate, Client};
use url::{Host, Url};

use super::{errors, Policy};
use crate::atomic_file;
use crate::destination::Secret;
use crate::shown::MAX_SHOWN_PATH;

/// Where both protocols go unless `google_analytics_url` says otherwise.
pub const DEFAULT_GOOGLE_ANALYTICS_URL: &str = "https://www.google-analytics.com";

const USER_AGENT: &str = concat!("mongoose_system_metrics/", env!("CARGO_PKG_VERSION"));

/// Where delivery goes and how it connects: the base URL and the extra CA certificates.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// Base URL of both protocols.
    pub base: Url,
    /// PEM certificates trusted besides the system's roots.
    pub extra_roots_pem: Option<Vec<u8>>,
}

/// The base URL both protocols go to unless `google_analytics_url` says otherwise.
pub fn default_base() -> Url {
    Url::parse(DEFAULT_GOOGLE_ANALYTICS_URL).expect("the default URL parses")
}

/// An `https` base URL, or `http` for a loopback host (a local collector); no query,
/// fragment or credentials, since the protocol paths are appended to it. The error never
/// repeats the URL's text: what is wrong with it may be a secret.
pub fn base_url(text: &str) -> Result<Url, String> {
    // The parser's messages are fixed words ("invalid port number"), never the input.
    let mut url = Url::parse(text).map_err(|e| format!("not a URL ({e})"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(url.host()) => {}
        "http" => return Err("plain http is allowed only for a loopback host; use https".into()),
        other if other.len() <= 10 && other.bytes().all(|b| b.is_ascii_lowercase()) => {
            return Err(format!("unsupported scheme {other}; use https"))
        }
        _ => return Err("unsupported scheme; use https".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("credentials (user:password@) are not allowed in a base URL; they are not shown".into());
    }
    if url.query().is_some() {
        return Err("a query string is not allowed in a base URL; it is not shown".into());
    }
    if url.fragment().is_some() {
        return Err("a fragment (#...) is not allowed in a base URL; it is not shown".into());
    }
    let path = url.path().trim_end_matches('/').to_owned();
    if let Some(protocol) = ["/mp/collect", "/batch", "/collect"].iter().find(|p| path.ends_with(*p)) {
        return Err(format!(
            "give the base URL only, without {protocol}: the protocol paths are added to it"
        ));
    }
    url.set_path(&path);
    Ok(url)
}

/// A URL as a message may show it: `scheme://host[:port]/path`, never the query string,
/// fragment or credentials, which may carry a secret.
pub fn url_for_messages(url: &Url) -> String {
    let mut out = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        let _ = write!(out, ":{port}");
    }
    let path = url.path();
    if path.chars().count() > MAX_SHOWN_PATH {
        out.extend(path.chars().take(MAX_SHOWN_PATH - 3));
        out.push_str("...");
    } else {
        out.push_str(path);
    }
    out
}

/// Whether a URL's host is this machine's loopback.
pub fn is_loopback(url: &Url) -> bool {
    is_loopback_host(url.host())
}

fn is_loopback_host(host: Option<Host<&str>>) -> bool {
    match host {
        Some(Host::Domain(name)) => name == "localhost",
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The most read of a CA bundle; a whole public root set is well under 1 MiB.
pub const CA_BUNDLE_MAX_BYTES: u64 = 4 << 20;

/// The PEM file of extra CA certificates, checked to hold at least one. It must be a
/// regular file of at most [`CA_BUNDLE_MAX_BYTES`]: a FIFO or a device is never read.
/// Links are followed, as system bundles often are links (RHEL's
/// `/etc/pki/tls/certs/ca-bundle.crt`); the checks apply to the file they lead to.
pub fn read_ca_bundle(path: &Path) -> Result<Vec<u8>, String> {
    let pem = atomic_file::read_regular(path, CA_BUNDLE_MAX_BYTES, true)
        .map_err(|e| format!("cannot read it: {e}"))?;
    match Certificate::from_pem_bundle(&pem) {
        Ok(certificates) if !certificates.is_empty() => Ok(pem),
        _ => Err("it holds no PEM certificate".to_owned()),
    }
}

/// Builds the client of an endpoint. Blocking: for an `https` base it reads the system's
/// CA roots from disk.
pub(super) fn build_client(endpoint: &Endpoint, policy: Policy) -> Result<Client, String> {
    let mut builder = Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(policy.connect_timeout)
        .timeout(policy.request_timeout)
        // A redirect would carry the secret somewhere Google did not say.
        .redirect(reqwest::redirect::Policy::none());
    if is_loopback(&endpoint.base) {
        // A proxy cannot reach this machine's loopback on our behalf.
        builder = builder.no_proxy();
    }
    let extra_roots = match &endpoint.extra_roots_pem {
        Some(pem) => Certificate::from_pem_bundle(pem)
            .map_err(|_| "the CA bundle holds no valid certificate".to_owned())?,
        None => Vec::new(),
    };
    builder = if endpoint.base.scheme() == "http" {
        // Plain http (`base_url` allows it only for a loopback host, with no redirects and
        // no proxy) makes no TLS connection: the system's roots are not loaded at all. Were
        // TLS ever attempted, it would be verified against the CA bundle alone, and with
        // none it fails: closed, never open.
        builder.tls_certs_only(extra_roots)
    } else {
        builder.tls_certs_merge(extra_roots)
    };
    builder.build().map_err(|e| format!("cannot set up HTTPS: {}", errors::describe(&e)))
}

/// `<base><path>?measurement_id=..&api_secret=..`
pub(super) fn ga4_url(base: &Url, path: &str, measurement_id: &str, secret: &Secret) -> Url {
    let mut url = with_path(base, path);
    url.query_pairs_mut()
        .append_pair("measurement_id", measurement_id)
        .append_pair("api_secret", secret.expose());
    url
}

/// `<base><path>`, keeping any path the base has.
pub(super) fn with_path(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    url.set_path(&format!("{}{path}", base.path().trim_end_matches('/')));
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::deliver;
    use crate::delivery::test_support::{at, events, ga4, quick, run, via};
    use crate::destination::Destination;
    use crate::report::Delivery;
    use ga4_collector::Collector;

    /// Marks the process that [`a_plain_http_client_is_built_without_the_systems_ca_roots`]
    /// starts, whose environment names no CA certificate at all.
    const NO_SYSTEM_ROOTS: &str = "MSM_TEST_NO_SYSTEM_ROOTS";

    #[test]
    fn a_plain_http_client_is_built_without_the_systems_ca_roots() {
        // rustls-native-certs reads SSL_CERT_FILE and SSL_CERT_DIR, when set, instead of the
        // system's store: here an absent file and an empty directory. The environment is
        // the process's, so the check runs in a child process of this test binary.
        let dir = crate::atomic_file::tests::temp_dir("no-ca-roots");
        std::fs::create_dir(dir.join("certs")).unwrap();
        let child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "delivery::endpoint::tests::in_a_child_without_system_roots",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .env("SSL_CERT_FILE", dir.join("absent.pem"))
            .env("SSL_CERT_DIR", dir.join("certs"))
            .env(NO_SYSTEM_ROOTS, "1")
            .output()
            .unwrap();
        let output =
            format!("{}{}", String::from_utf8_lossy(&child.stdout), String::from_utf8_lossy(&child.stderr));
        assert!(child.status.success(), "{output}");
        assert!(output.contains("test result: ok. 1 passed"), "the child ran the check: {output}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    #[ignore = "run by a_plain_http_client_is_built_without_the_systems_ca_roots, in a child process"]
    fn in_a_child_without_system_roots() {
        if std::env::var_os(NO_SYSTEM_ROOTS).is_none() {
            return;
        }
        // The control: here an https client, which loads the system's roots, cannot be built.
        let https = build_client(&at("https://127.0.0.1:9"), quick());
        assert!(https.as_ref().is_err_and(|e| e.starts_with("cannot set up HTTPS")), "{https:?}");
        let tls = Collector::bind_tls("127.0.0.1:0").unwrap();
        let bundle = Some(tls.ca_pem().unwrap().as_bytes().to_vec());
        // A plain http one needs no roots, with or without a CA bundle, and delivers.
        let collector = Collector::start().unwrap();
        for extra_roots_pem in [None, bundle.clone()] {
            let transport =
                via(Endpoint { base: Url::parse(&collector.url()).unwrap(), extra_roots_pem }, quick());
            let outcome = run(deliver(&transport, &[ga4("G-1", "s")], "cid", &events(30))).remove(0);
            assert_eq!((outcome.result, outcome.delivered), (Delivery::Delivered, 2), "{outcome:?}");
        }
        // An https one with a CA bundle still works: the bundle is trusted beside no roots.
        let trusted =
            via(Endpoint { base: Url::parse(&tls.url()).unwrap(), extra_roots_pem: bundle }, quick());
        let outcome = run(deliver(&trusted, &[ga4("G-1", "s")], "cid", &events(1))).remove(0);
        assert_eq!((outcome.result, outcome.status), (Delivery::Delivered, Some(204)), "{outcome:?}");
    }

    #[test]
    fn a_plain_http_client_makes_no_tls_connection_even_if_asked() {
        // Not a case delivery meets (the base decides the scheme, and redirects are off),
        // but were a plain-http client ever pointed at TLS, it verifies against nothing
        // and refuses: it fails closed.
        let tls = Collector::bind_tls("127.0.0.1:0").unwrap();
        let client = build_client(&at("http://127.0.0.1:9"), quick()).unwrap();
        let refused = run(async { client.post(format!("{}/mp/collect", tls.url())).body("{}").send().await });
        assert!(errors::describe(&refused.unwrap_err()).contains("TLS certificate rejected"));
        assert!(tls.requests().is_empty());
    }

    #[test]
    fn certificates_are_verified_and_a_private_ca_can_be_trusted() {
        let collector = Collector::bind_tls("127.0.0.1:0").unwrap();
        let untrusted =
            run(deliver(&via(at(&collector.url()), quick()), &[ga4("G-1", "s")], "cid", &events(1)));
        assert_eq!(untrusted[0].result, Delivery::Failed);
        assert!(
            untrusted[0].error.as_deref().unwrap().contains("TLS certificate rejected"),
            "{:?}",
            untrusted[0]
        );
        assert!(collector.requests().is_empty(), "nothing was sent over an unverified connection");
        let trusted = Endpoint {
            base: Url::parse(&collector.url()).unwrap(),
            extra_roots_pem: Some(collector.ca_pem().unwrap().as_bytes().to_vec()),
        };
        let outcome = run(deliver(&via(trusted, quick()), &[ga4("G-1", "s")], "cid", &events(1)));
        assert_eq!((outcome[0].result, outcome[0].status), (Delivery::Delivered, Some(204)));
        assert_eq!(collector.requests().len(), 1);
    }

    #[test]
    fn urls_keep_a_base_path_and_the_eu_host() {
        let secret = match ga4("G-1", "a&b") {
            Destination::Ga4 { secret, .. } => secret,
            _ => unreachable!(),
        };
        let url = ga4_url(&Url::parse("https://example.com/prefix").unwrap(), "/mp/collect", "G-1", &secret);
        assert_eq!(url.as_str(), "https://example.com/prefix/mp/collect?measurement_id=G-1&api_secret=a%26b");
        let eu = ga4_url(
            &Url::parse("https://region1.google-analytics.com").unwrap(),
            "/mp/collect",
            "G-1",
            &secret,
        );
        assert_eq!(
            eu.as_str(),
            "https://region1.google-analytics.com/mp/collect?measurement_id=G-1&api_secret=a%26b"
        );
        assert_eq!(
            with_path(&Url::parse("https://region1.google-analytics.com/").unwrap(), "/batch").as_str(),
            "https://region1.google-analytics.com/batch"
        );
    }

    #[test]
    fn base_url_accepts_https_eu_and_local_http() {
        for (given, wanted) in [
            ("https://region1.google-analytics.com", "https://region1.google-analytics.com/"),
            ("https://www.google-analytics.com/", "https://www.google-analytics.com/"),
            ("http://127.0.0.1:8765", "http://127.0.0.1:8765/"),
            ("http://localhost:1/prefix/", "http://localhost:1/prefix"),
            ("http://[::1]:9", "http://[::1]:9/"),
        ] {
            assert_eq!(base_url(given).unwrap().as_str(), wanted);
        }
    }
}
