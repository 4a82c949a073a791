//! Error texts for the report and the log, in fixed words only: library messages can
//! name the URL (with the API secret) or a host, and these texts go into the report file.

use std::error::Error as _;

use crate::destination::Secret;

/// A short description of a reqwest error.
pub fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "bad answer"
    } else if error.is_builder() {
        "bad request"
    } else {
        "request failed"
    };
    let mut io_kind = None;
    let mut tls = None;
    let mut source = error.source();
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        let text = e.to_string().to_ascii_lowercase();
        if text.contains("certificate") {
            tls = Some("TLS certificate rejected");
        } else if tls.is_none() && (text.contains("tls") || text.contains("handshake")) {
            tls = Some("TLS handshake failed");
        }
        source = e.source();
    }
    match (tls, io_kind) {
        (Some(tls), _) => format!("{kind}: {tls}"),
        (None, Some(io)) => format!("{kind}: {io}"),
        (None, None) => kind.to_owned(),
    }
}

/// Belt and braces: no message may carry the secret, whatever a library put in it. A URL
/// would carry it as a query parameter; a long enough secret is also removed wherever it
/// stands (a very short one would match ordinary words).
pub fn redact(message: &str, secret: &Secret) -> String {
    const PARAM: &str = "api_secret=";
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(PARAM) {
        out.push_str(&rest[..at + PARAM.len()]);
        out.push_str("<redacted>");
        rest = &rest[at + PARAM.len()..];
        let end = rest.find(|c: char| c == '&' || c == ')' || c.is_whitespace()).unwrap_or(rest.len());
        rest = &rest[end..];
    }
    out.push_str(rest);
    if secret.expose().len() >= 8 {
        out = out.replace(secret.expose(), "<redacted>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::test_support::ga4;
    use crate::destination::Destination;

    #[test]
    fn redact_removes_secrets_from_urls_and_text() {
        let long = match ga4("G-1", "0123456789abcdef") {
            Destination::Ga4 { secret, .. } => secret,
            _ => unreachable!(),
        };
        assert_eq!(
            redact(
                "error for url (http://x/mp/collect?measurement_id=G-1&api_secret=0123456789abcdef) here",
                &long
            ),
            "error for url (http://x/mp/collect?measurement_id=G-1&api_secret=<redacted>) here"
        );
        assert_eq!(redact("saw 0123456789abcdef", &long), "saw <redacted>");
        let short = match ga4("G-1", "s") {
            Destination::Ga4 { secret, .. } => secret,
            _ => unreachable!(),
        };
        assert_eq!(redact("HTTP status 500", &short), "HTTP status 500");
    }
}
