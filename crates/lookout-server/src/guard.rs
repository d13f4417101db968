//! The request guard in front of every route: refuses what a web page in an operator's
//! browser could send on its own, whatever the authentication setting.
//!
//! - **Cross-origin writes.** A page on another site can POST to lookout (a `text/plain`
//!   form or `fetch` needs no preflight), so without this check any page open in a
//!   browser on the operator's machine could create silences, post feedback or push
//!   samples, even to a loopback address. Browsers name the page's origin in `Origin`
//!   (and `Sec-Fetch-Site`) on such requests: a state-changing method (anything but
//!   GET, HEAD, OPTIONS) whose `Origin` is not the address the request was sent to, or
//!   is `null`, or whose `Sec-Fetch-Site` is `cross-site`, gets 403. Clients that are
//!   not browsers (Prometheus, Telegraf, curl) send no `Origin` and pass.
//! - **DNS rebinding.** A page can make its own domain resolve to 127.0.0.1, and its
//!   requests are then same-origin. Such requests carry the page's domain in `Host`:
//!   while lookout listens on a loopback address, a `Host` that is not an IP literal,
//!   `localhost` or a configured `allowed_hosts` entry gets 403. On other addresses any
//!   `Host` passes unless `allowed_hosts` is set.
//!
//! What it misses: requests from software on the machine itself (that is what
//! authentication is for). Cost: a few header comparisons per request.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

/// What the guard compares requests with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessOptions {
    /// Whether the server listens on a loopback address only.
    pub loopback_only: bool,
    /// Host names (lower case, optional `:port`) accepted besides IP literals and
    /// `localhost`.
    pub allowed_hosts: Vec<String>,
}

impl Default for AccessOptions {
    fn default() -> Self {
        AccessOptions {
            loopback_only: true,
            allowed_hosts: Vec::new(),
        }
    }
}

impl AccessOptions {
    /// The options for a server listening on `listen`.
    pub fn for_listen(listen: SocketAddr, allowed_hosts: Vec<String>) -> AccessOptions {
        AccessOptions {
            loopback_only: listen.ip().is_loopback(),
            allowed_hosts,
        }
    }

    /// Why a request with these headers and method is refused, if it is.
    pub fn refusal(&self, method: &Method, headers: &HeaderMap) -> Option<String> {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(|h| h.trim().to_ascii_lowercase());
        if let Some(host) = &host {
            if !self.host_allowed(host) {
                return Some(format!(
                    "Host {host:?} is not an address of this server (add it to [server] allowed_hosts if it is)"
                ));
            }
        }
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return None;
        }
        let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        if fetch_site.is_some_and(|site| site.eq_ignore_ascii_case("cross-site")) {
            return Some(format!(
                "cross-site {method} refused (Sec-Fetch-Site: cross-site): state-changing requests must come from this server's own pages or from clients that are not browsers"
            ));
        }
        let origin = headers.get(header::ORIGIN)?;
        let origin = origin.to_str().unwrap_or("").trim().to_ascii_lowercase();
        let authority = origin_authority(&origin);
        let same = match (&authority, &host) {
            (Some(authority), Some(host)) => {
                let bare = host
                    .strip_suffix(":80")
                    .or_else(|| host.strip_suffix(":443"))
                    .unwrap_or(host);
                authority == host || authority == bare
            }
            _ => false,
        };
        if same || authority.as_ref().is_some_and(|a| self.listed(a)) {
            return None;
        }
        Some(format!(
            "cross-origin {method} from Origin {origin:?} refused: state-changing requests must come from this server's own pages or from clients that are not browsers"
        ))
    }

    fn host_allowed(&self, host: &str) -> bool {
        let name = host_name(host);
        if name == "localhost" || name.parse::<IpAddr>().is_ok() || self.listed(host) {
            return true;
        }
        !self.loopback_only && self.allowed_hosts.is_empty()
    }

    /// Whether `authority` (`name` or `name:port`) is in `allowed_hosts`: an entry
    /// without a port allows every port.
    fn listed(&self, authority: &str) -> bool {
        let name = host_name(authority);
        self.allowed_hosts
            .iter()
            .any(|entry| entry == authority || (!entry.contains(':') && entry == name))
    }
}

/// `host` of `host:port`, `[v6]:port` or `[v6]`, brackets removed.
fn host_name(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match authority.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => authority,
    }
}

/// `host[:port]` of an `Origin` value (`scheme://host[:port]`); `None` for `null` or
/// anything else without a scheme.
fn origin_authority(origin: &str) -> Option<String> {
    let (scheme, rest) = origin.split_once("://")?;
    let authority = rest.split('/').next().unwrap_or(rest);
    // A default port is left out of `Origin` but may be written in `Host`.
    let default_port = match scheme {
        "http" => ":80",
        "https" => ":443",
        _ => "",
    };
    let authority = authority.strip_suffix(default_port).unwrap_or(authority);
    (!authority.is_empty()).then(|| authority.to_string())
}

/// The middleware: 403 with the JSON error shape, or the route.
pub async fn check(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let refusal = state
        .options
        .access
        .refusal(request.method(), request.headers());
    match refusal {
        Some(message) => {
            tracing::debug!(%message, "request refused by the access guard");
            ApiError::new(StatusCode::FORBIDDEN, "forbidden", message).into_response()
        }
        None => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    fn loopback() -> AccessOptions {
        AccessOptions::for_listen("127.0.0.1:8080".parse().unwrap(), Vec::new())
    }

    /// Regression: a `text/plain` POST from another site's page created silences.
    #[test]
    fn cross_origin_post_is_refused() {
        let refused = loopback().refusal(
            &Method::POST,
            &headers(&[
                ("host", "127.0.0.1:8080"),
                ("origin", "https://evil.example"),
            ]),
        );
        assert!(refused.unwrap().contains("evil.example"));
        let null = loopback().refusal(
            &Method::POST,
            &headers(&[("host", "127.0.0.1:8080"), ("origin", "null")]),
        );
        assert!(null.is_some(), "a sandboxed page's null origin is refused");
        let fetch = loopback().refusal(
            &Method::POST,
            &headers(&[("host", "127.0.0.1:8080"), ("sec-fetch-site", "cross-site")]),
        );
        assert!(fetch.is_some());
    }

    #[test]
    fn same_origin_and_non_browser_requests_pass() {
        let options = loopback();
        let own_page = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
        ]);
        assert_eq!(options.refusal(&Method::POST, &own_page), None);
        let prometheus = headers(&[("host", "127.0.0.1:8080")]);
        assert_eq!(options.refusal(&Method::POST, &prometheus), None);
        let default_port = headers(&[("host", "localhost:80"), ("origin", "http://localhost")]);
        assert_eq!(options.refusal(&Method::POST, &default_port), None);
        // Reading is not refused for the origin: browsers do not let the page read the answer.
        let read = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "https://evil.example"),
        ]);
        assert_eq!(options.refusal(&Method::GET, &read), None);
    }

    /// Regression: a rebound domain reached the loopback listener as same-origin.
    #[test]
    fn rebound_host_name_is_refused_on_loopback() {
        let rebound = headers(&[
            ("host", "evil.example:8080"),
            ("origin", "http://evil.example:8080"),
        ]);
        assert!(loopback().refusal(&Method::POST, &rebound).is_some());
        assert!(loopback().refusal(&Method::GET, &rebound).is_some());
        for fine in [
            "localhost:8080",
            "127.0.0.1:8080",
            "[::1]:8080",
            "LOCALHOST",
        ] {
            let map = headers(&[("host", fine)]);
            assert_eq!(loopback().refusal(&Method::GET, &map), None, "{fine}");
        }
        let listed = AccessOptions::for_listen(
            "127.0.0.1:8080".parse().unwrap(),
            vec!["lookout.internal".into()],
        );
        let map = headers(&[("host", "lookout.internal:8080")]);
        assert_eq!(listed.refusal(&Method::GET, &map), None);
    }

    #[test]
    fn any_host_on_a_public_address_unless_hosts_are_listed() {
        let public = AccessOptions::for_listen("0.0.0.0:8080".parse().unwrap(), Vec::new());
        let map = headers(&[("host", "lookout.example.com")]);
        assert_eq!(public.refusal(&Method::GET, &map), None);
        let listed = AccessOptions::for_listen(
            "0.0.0.0:8080".parse().unwrap(),
            vec!["lookout.example.com:8080".into()],
        );
        assert!(
            listed.refusal(&Method::GET, &map).is_some(),
            "port not listed"
        );
        let map = headers(&[("host", "lookout.example.com:8080")]);
        assert_eq!(listed.refusal(&Method::GET, &map), None);
    }

    #[test]
    fn host_names_and_origins_parse() {
        assert_eq!(host_name("a.b:80"), "a.b");
        assert_eq!(host_name("[::1]:8080"), "::1");
        assert_eq!(host_name("[::1]"), "::1");
        assert_eq!(host_name("a.b"), "a.b");
        assert_eq!(
            origin_authority("https://a.b:8443"),
            Some("a.b:8443".into())
        );
        assert_eq!(origin_authority("https://a.b:443"), Some("a.b".into()));
        assert_eq!(origin_authority("null"), None);
    }
}
