//! API tokens: who is calling, and whether their role allows the route.
//!
//! When [`AuthOptions::enabled`], every route needs a token except `/healthz`,
//! `/readyz`, the dashboard's pages and `/assets/*` ([`required_role`]). A token is
//! accepted in three forms, so that collectors need no proxy:
//!
//! - `Authorization: Bearer T` (Prometheus `bearer_token` / `authorization`, curl);
//! - `Authorization: Basic base64(user:T)` (Prometheus `basic_auth`): the password is
//!   the token, and the user name must be empty or the token's name;
//! - `Authorization: Token T` (Influx clients and Telegraf).
//!
//! Tokens are kept as SHA-256 digests only; the digest of the presented token is
//! compared with every configured digest in constant time. A missing, malformed or
//! unknown token gets 401 with `WWW-Authenticate: Bearer realm="lookout"`; a known
//! token whose role is not enough gets 403. Without an `Authorization` header, the
//! dashboard's session cookie stands for the token it was opened with, and needs its
//! CSRF token on every request but GET and HEAD ([`crate::session`]). Either way the answer is the JSON error
//! shape. The caller ([`Caller`]) is put in the request's extensions for the handlers
//! (a silence records who created it; admin actions go to the audit log).

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest, Sha256};

pub use lookout_config::auth::Role;

use crate::error::ApiError;
use crate::state::AppState;

/// The tracing target of the audit log of admin actions.
pub const AUDIT_TARGET: &str = "lookout::audit";

/// Name of the caller when authentication is off.
pub const ANONYMOUS: &str = "anonymous";

/// One accepted token.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub name: String,
    pub role: Role,
    /// SHA-256 of the secret token.
    pub sha256: [u8; 32],
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiToken({:?}, {})", self.name, self.role)
    }
}

/// Whether tokens are required, and which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthOptions {
    pub enabled: bool,
    pub tokens: Vec<ApiToken>,
    /// A dashboard session ends after this long without a request ([`crate::session`]).
    pub session_ttl: std::time::Duration,
    /// Whether the session cookie is marked `Secure` (the server speaks TLS).
    pub secure_cookie: bool,
}

impl Default for AuthOptions {
    fn default() -> Self {
        AuthOptions {
            enabled: false,
            tokens: Vec::new(),
            session_ttl: std::time::Duration::from_secs(12 * 3600),
            secure_cookie: false,
        }
    }
}

/// Who sent a request: the token's name and role, or [`ANONYMOUS`] without auth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    /// `None` when authentication is off.
    pub role: Option<Role>,
}

impl Caller {
    pub fn anonymous() -> Caller {
        Caller {
            name: ANONYMOUS.to_string(),
            role: None,
        }
    }
}

/// SHA-256 of a token.
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Equality of two digests in time independent of where they differ.
fn digest_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

impl AuthOptions {
    /// The token whose digest is `digest`; every configured digest is compared, whatever
    /// matched earlier.
    pub(crate) fn lookup(&self, digest: &[u8; 32]) -> Option<&ApiToken> {
        let mut found = None;
        for token in &self.tokens {
            if digest_eq(&token.sha256, digest) {
                found = Some(token);
            }
        }
        found
    }

    /// Who presents these headers, or why they are refused (401).
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<&ApiToken, String> {
        let (user, token) = credential(headers)?;
        let found = self
            .lookup(&hash_token(&token))
            .ok_or_else(|| "unknown token".to_string())?;
        match user {
            Some(user) if !user.is_empty() && user != found.name => Err(format!(
                "basic auth user {user:?} is not the name of the token (leave it empty or use the token's name)"
            )),
            _ => Ok(found),
        }
    }
}

/// The token of the `Authorization` header, with the Basic user name if any.
fn credential(headers: &HeaderMap) -> Result<(Option<String>, String), String> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| "missing Authorization header (Bearer, Basic or Token)".to_string())?;
    let value = value
        .to_str()
        .map_err(|_| "Authorization header is not ASCII".to_string())?
        .trim();
    let (scheme, rest) = value
        .split_once(' ')
        .ok_or_else(|| "Authorization header has no scheme (Bearer, Basic or Token)".to_string())?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token") {
        if rest.is_empty() {
            return Err(format!("empty {scheme} token"));
        }
        return Ok((None, rest.to_string()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .map_err(|_| "Basic credentials are not base64".to_string())?;
        let text = String::from_utf8(decoded)
            .map_err(|_| "Basic credentials are not UTF-8".to_string())?;
        let (user, password) = text
            .split_once(':')
            .ok_or_else(|| "Basic credentials have no `user:password`".to_string())?;
        if password.is_empty() {
            return Err("Basic credentials have an empty password (the token)".to_string());
        }
        return Ok((Some(user.to_string()), password.to_string()));
    }
    Err(format!(
        "unsupported Authorization scheme {:?} (Bearer, Basic or Token)",
        scheme.chars().take(20).collect::<String>()
    ))
}

/// Ingestion routes: the `write` role.
const WRITE_ROUTES: &[&str] = &[
    "/api/v1/write",
    "/api/v2/write",
    "/write",
    "/api/v1/samples",
    "/api/v1/events",
];

/// Routes that POST a query and change nothing: the `read` role.
const READ_POSTS: &[&str] = &[
    "/api/v1/series",
    "/api/v1/labels",
    "/api/v1/query",
    "/api/v1/query_range",
    "/api/v1/query_exemplars",
];

/// Routes anyone may GET besides the dashboard's pages ([`crate::ui::PAGES`]):
/// liveness, readiness and the pages' assets (the data they show comes from the API,
/// which needs a token).
const PUBLIC_GETS: &[&str] = &["/healthz", "/readyz", "/assets/{file}"];

/// Whether anyone may GET `path`.
fn is_public_get(path: &str) -> bool {
    PUBLIC_GETS.contains(&path) || crate::ui::PAGES.contains(&path)
}

/// Dashboard sign-in, who-am-i and sign-out: public whatever the method (they check
/// the token or the session cookie themselves, [`crate::session`]).
const SESSION_ROUTE: &str = "/api/v1/session";

/// Routes only admins may GET: the audit log.
const ADMIN_GETS: &[&str] = &["/api/v1/audit"];

/// The role a route needs (`None`: public). `path` is the route's pattern
/// (`/api/v1/silences/{id}/expire`) or, for unmatched requests, the request path.
/// Whatever is not listed needs `read` to GET and `admin` otherwise: silences,
/// their expiry and feedback on anomalies are admin actions, and so is reading the
/// audit log.
pub fn required_role(method: &Method, path: &str) -> Option<Role> {
    if path == SESSION_ROUTE {
        return None;
    }
    let reading = matches!(*method, Method::GET | Method::HEAD);
    if reading {
        if is_public_get(path) {
            return None;
        }
        if ADMIN_GETS.contains(&path) {
            return Some(Role::Admin);
        }
        return Some(Role::Read);
    }
    if *method == Method::POST {
        if WRITE_ROUTES.contains(&path) {
            return Some(Role::Write);
        }
        if READ_POSTS.contains(&path) || path.starts_with("/api/v1/predict/") {
            return Some(Role::Read);
        }
    }
    Some(Role::Admin)
}

fn unauthorized(message: String) -> Response {
    let mut response =
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"lookout\""),
    );
    response
}

/// The middleware: 401/403 with the JSON error shape, or the route with a [`Caller`].
pub async fn check(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let auth = &state.options.auth;
    if !auth.enabled {
        request.extensions_mut().insert(Caller::anonymous());
        return next.run(request).await;
    }
    let path = match request.extensions().get::<MatchedPath>() {
        Some(matched) => matched.as_str().to_string(),
        None => request.uri().path().to_string(),
    };
    let Some(required) = required_role(request.method(), &path) else {
        return next.run(request).await;
    };
    let token = if request.headers().contains_key(header::AUTHORIZATION) {
        match auth.authenticate(request.headers()) {
            Ok(token) => token.clone(),
            Err(reason) => {
                tracing::debug!(%reason, %path, "request refused: not authenticated");
                return unauthorized(format!("authentication required: {reason}"));
            }
        }
    } else if let Some(id) = crate::session::cookie_of(request.headers()) {
        let Some(resolved) = state.sessions.resolve(auth, id) else {
            return unauthorized(
                "authentication required: the session expired or is unknown (sign in again)"
                    .to_string(),
            );
        };
        let reading = matches!(*request.method(), Method::GET | Method::HEAD);
        if !reading && !crate::session::csrf_matches(request.headers(), &resolved.csrf) {
            return crate::session::csrf_refused();
        }
        resolved.token
    } else {
        return unauthorized(
            "authentication required: missing Authorization header (Bearer, Basic or Token) \
             or session cookie"
                .to_string(),
        );
    };
    if !token.role.allows(required) {
        let message = format!(
            "token {:?} has the role {}; {} {path} needs {required}",
            token.name,
            token.role,
            request.method()
        );
        return ApiError::new(StatusCode::FORBIDDEN, "forbidden", message).into_response();
    }
    request.extensions_mut().insert(Caller {
        name: token.name.clone(),
        role: Some(token.role),
    });
    next.run(request).await
}

/// The caller of a request (anonymous when the middleware did not run, in tests).
pub fn caller_of(caller: Option<axum::Extension<Caller>>) -> Caller {
    caller.map_or_else(Caller::anonymous, |axum::Extension(caller)| caller)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> AuthOptions {
        AuthOptions {
            enabled: true,
            tokens: vec![
                ApiToken {
                    name: "grafana".into(),
                    role: Role::Read,
                    sha256: hash_token("lk_read"),
                },
                ApiToken {
                    name: "prom".into(),
                    role: Role::Write,
                    sha256: hash_token("lk_write"),
                },
            ],
            ..AuthOptions::default()
        }
    }

    fn with_auth(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    fn basic(user_password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_password)
        )
    }

    #[test]
    fn every_header_form_names_the_token() {
        let options = options();
        for value in [
            "Bearer lk_write".to_string(),
            "bearer  lk_write".to_string(),
            "Token lk_write".to_string(),
            basic(":lk_write"),
            basic("prom:lk_write"),
        ] {
            let token = options.authenticate(&with_auth(&value));
            assert_eq!(token.map(|t| t.name.as_str()), Ok("prom"), "{value}");
        }
    }

    #[test]
    fn bad_credentials_are_refused_with_a_reason() {
        let options = options();
        let cases = [
            ("Bearer nope", "unknown token"),
            ("Bearer ", "no scheme"),
            ("Digest abc", "unsupported"),
            ("Basic !!!", "not base64"),
            ("lk_write", "no scheme"),
        ];
        for (value, reason) in cases {
            let refused = options.authenticate(&with_auth(value)).unwrap_err();
            assert!(refused.contains(reason), "{value}: {refused}");
        }
        let other_user = options.authenticate(&with_auth(&basic("grafana:lk_write")));
        assert!(other_user
            .unwrap_err()
            .contains("is not the name of the token"));
        assert!(options.authenticate(&with_auth(&basic("prom:"))).is_err());
        let missing = options.authenticate(&HeaderMap::new()).unwrap_err();
        assert!(missing.contains("missing Authorization"), "{missing}");
    }

    #[test]
    fn digests_compare_equal_only_when_equal() {
        let a = hash_token("a");
        assert!(digest_eq(&a, &hash_token("a")));
        let mut b = a;
        b[31] ^= 1;
        assert!(!digest_eq(&a, &b));
    }

    /// Every route of the table has a deliberate role: ingestion `write`, silences and
    /// feedback `admin`, queries `read`, health and the dashboard's pages public.
    #[test]
    fn every_route_needs_the_role_of_what_it_does() {
        for (method, path) in crate::routes::route_table() {
            let method: Method = method.parse().unwrap();
            let role = required_role(&method, path);
            let expected = if path == "/api/v1/session" {
                None
            } else if method == Method::GET {
                if is_public_get(path) {
                    None
                } else if path.contains("audit") {
                    Some(Role::Admin)
                } else {
                    Some(Role::Read)
                }
            } else if WRITE_ROUTES.contains(&path) {
                Some(Role::Write)
            } else if path.contains("silences") || path.contains("feedback") {
                Some(Role::Admin)
            } else {
                Some(Role::Read)
            };
            assert_eq!(role, expected, "{method} {path}");
        }
        assert_eq!(
            required_role(&Method::DELETE, "/api/v1/series"),
            Some(Role::Admin)
        );
        assert_eq!(required_role(&Method::GET, "/metrics"), Some(Role::Read));
    }
}
