//! The read token. When one is set, every read (dashboard pages, `/api/*`, `/metrics`)
//! needs it, as `Authorization: Bearer TOKEN` or as the cookie `/login?token=TOKEN` sets.
//! The cookie holds a digest of the token rather than the token itself.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::App;
use crate::config::Secret;
use crate::{respond, secret};

/// The login cookie's name.
pub const COOKIE: &str = "mongoose_usage_session";

/// Who may read.
#[derive(Debug, Clone)]
pub struct ReadAccess {
    token: Option<Secret>,
}

impl ReadAccess {
    /// Reads need `token` when it is set; anyone may read otherwise.
    pub fn new(token: Option<Secret>) -> ReadAccess {
        ReadAccess { token }
    }

    /// Whether the request carries the token, in its header or its cookie.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.token else { return true };
        let bearer =
            headers.get_all(header::AUTHORIZATION).iter().filter_map(|v| v.to_str().ok()).any(|value| {
                let (scheme, given) = value.split_once(' ').unwrap_or((value, ""));
                scheme.eq_ignore_ascii_case("bearer")
                    && secret::same(given.trim().as_bytes(), token.expose().as_bytes())
            });
        let expected = cookie_value(token);
        let cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .any(|(name, value)| name == COOKIE && secret::same(value.as_bytes(), expected.as_bytes()));
        bearer || cookie
    }
}

/// The cookie's value for a token: a digest, so that the cookie store never holds the token.
fn cookie_value(token: &Secret) -> String {
    secret::sha256_hex(format!("mongoose_usage_server login\n{}", token.expose()).as_bytes())
}

/// Lets a read through only with the token; 401 otherwise.
pub async fn require(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    if app.access.allows(request.headers()) {
        return next.run(request).await;
    }
    let mut response = respond::text(
        StatusCode::UNAUTHORIZED,
        "a read token is needed: send Authorization: Bearer TOKEN, or open /login?token=TOKEN\n",
    );
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// `GET /login?token=TOKEN`: sets the cookie and sends the browser to the overview.
pub async fn login(State(app): State<Arc<App>>, uri: Uri) -> Response {
    let mut given = None;
    for (name, value) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        if name != "token" || given.replace(value.into_owned()).is_some() {
            return respond::text(StatusCode::BAD_REQUEST, "login takes one parameter: token\n");
        }
    }
    let Some(token) = &app.access.token else { return to_overview(None) };
    match given {
        Some(given) if secret::same(given.as_bytes(), token.expose().as_bytes()) => to_overview(Some(token)),
        _ => respond::text(StatusCode::UNAUTHORIZED, "wrong or missing token\n"),
    }
}

/// A redirection to `/`, setting the cookie of `token` when given.
fn to_overview(token: Option<&Secret>) -> Response {
    let mut response = respond::empty(StatusCode::SEE_OTHER);
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, HeaderValue::from_static("/"));
    if let Some(token) = token {
        let cookie = format!("{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/", cookie_value(token));
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            headers.insert(header::SET_COOKIE, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        pairs.iter().map(|(name, value)| (name.clone(), HeaderValue::from_str(value).unwrap())).collect()
    }

    #[test]
    fn the_token_is_taken_from_the_header_or_the_cookie() {
        let access = ReadAccess::new(Some(Secret::new("t0ken".to_owned())));
        let cookie = format!("a=b; {COOKIE}={}", cookie_value(access.token.as_ref().unwrap()));
        assert!(access.allows(&headers(&[(header::AUTHORIZATION, "Bearer t0ken")])));
        assert!(access.allows(&headers(&[(header::AUTHORIZATION, "bearer t0ken")])));
        assert!(access.allows(&headers(&[(header::COOKIE, &cookie)])));
        assert!(!access.allows(&headers(&[])));
        assert!(!access.allows(&headers(&[(header::AUTHORIZATION, "Bearer t0ke")])));
        assert!(!access.allows(&headers(&[(header::AUTHORIZATION, "Basic t0ken")])));
        assert!(!access.allows(&headers(&[(header::COOKIE, "mongoose_usage_session=t0ken")])));
        assert!(ReadAccess::new(None).allows(&headers(&[])));
    }
}
