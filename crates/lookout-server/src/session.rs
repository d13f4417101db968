//! Dashboard sign-in: a session cookie in exchange for an API token.
//!
//! `POST /api/v1/session` with `{"token": "..."}` checks the token as the middleware
//! does ([`crate::auth`]) and answers `{name, role, csrf_token}` with
//! `Set-Cookie: lookout_session=<id>; HttpOnly; SameSite=Strict; Path=/` (and `Secure`
//! when the server speaks TLS). `GET /api/v1/session` says who the cookie belongs to
//! (401 without a valid one); `DELETE /api/v1/session` signs out and clears the cookie.
//!
//! A session id and its CSRF token are 32 random bytes each from the operating
//! system. Sessions are kept in memory only, keyed by the SHA-256 of their id (the id
//! itself is not kept), at most [`MAX_SESSIONS`] (the least recently used goes when a
//! new one needs room), and expire after `[auth] session_ttl` without a request. A
//! session carries the digest of the token it was opened with: its role is that
//! token's, looked up on every request. Nothing survives a restart: every dashboard
//! signs in again, and a token removed from the configuration leaves no session behind.
//!
//! With a cookie, every request other than GET and HEAD must carry the session's CSRF
//! token in `X-CSRF-Token` (403 otherwise); a request with an `Authorization` header
//! is authenticated by its token alone and needs none.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::RngCore;
use serde::Deserialize;
use serde_json::json;

use crate::auth::{hash_token, ApiToken, AuthOptions, Caller};
use crate::error::ApiError;
use crate::state::AppState;

/// Name of the session cookie.
pub const COOKIE: &str = "lookout_session";

/// Header that carries the session's CSRF token on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Most sessions kept at once.
pub const MAX_SESSIONS: usize = 10_000;

/// Longest token accepted by `POST /api/v1/session` (`lookout token create` makes 67
/// characters).
pub const MAX_TOKEN_BYTES: usize = 512;

/// One signed-in dashboard.
#[derive(Debug, Clone)]
struct Session {
    /// Digest of the token it was opened with.
    token_sha256: [u8; 32],
    csrf: String,
    last_seen: Instant,
}

/// The sessions of one server, bounded, in memory.
#[derive(Debug)]
pub struct Sessions {
    ttl: Duration,
    capacity: usize,
    by_id_digest: Mutex<HashMap<[u8; 32], Session>>,
}

/// What a valid cookie gives: the token and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub token: ApiToken,
    pub csrf: String,
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Equality of two strings in time independent of where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

impl Sessions {
    pub fn new(ttl: Duration, capacity: usize) -> Sessions {
        Sessions {
            ttl,
            capacity: capacity.max(1),
            by_id_digest: Mutex::new(HashMap::new()),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        self.by_id_digest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Opens a session for `token`: its id (for the cookie) and CSRF token.
    pub fn create(&self, token: &ApiToken) -> (String, String) {
        let id = random_hex();
        let csrf = random_hex();
        let now = Instant::now();
        let mut map = self.map();
        if map.len() >= self.capacity {
            map.retain(|_, s| now.duration_since(s.last_seen) < self.ttl);
        }
        if map.len() >= self.capacity {
            let oldest = map
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(key, _)| *key);
            if let Some(oldest) = oldest {
                map.remove(&oldest);
            }
        }
        map.insert(
            hash_token(&id),
            Session {
                token_sha256: token.sha256,
                csrf: csrf.clone(),
                last_seen: now,
            },
        );
        (id, csrf)
    }

    /// The token and CSRF token of session `id`, if it is open, not expired and its
    /// token is still configured; refreshes its idle timer.
    pub fn resolve(&self, auth: &AuthOptions, id: &str) -> Option<Resolved> {
        let key = hash_token(id);
        let now = Instant::now();
        let mut map = self.map();
        let session = map.get_mut(&key)?;
        if now.duration_since(session.last_seen) >= self.ttl {
            map.remove(&key);
            return None;
        }
        let Some(token) = auth.lookup(&session.token_sha256) else {
            map.remove(&key);
            return None;
        };
        session.last_seen = now;
        Some(Resolved {
            token: token.clone(),
            csrf: session.csrf.clone(),
        })
    }

    /// Closes session `id`; whether it was open.
    pub fn remove(&self, id: &str) -> bool {
        self.map().remove(&hash_token(id)).is_some()
    }

    pub fn len(&self) -> usize {
        self.map().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The value of the session cookie among the request's `Cookie` headers.
pub fn cookie_of(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

/// Whether the request carries the session's CSRF token.
pub fn csrf_matches(headers: &HeaderMap, csrf: &str) -> bool {
    headers
        .get(CSRF_HEADER)
        .is_some_and(|value| constant_time_eq(value.as_bytes(), csrf.as_bytes()))
}

fn set_cookie(value: &str, secure: bool, clear: bool) -> HeaderValue {
    let mut cookie = format!("{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/");
    if clear {
        cookie.push_str("; Max-Age=0");
    }
    if secure {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie).expect("cookie is ASCII")
}

fn unauthorized(message: impl Into<String>) -> Response {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response()
}

fn auth_off() -> Response {
    ApiError::bad_data(
        "authentication is off ([auth] enabled = false): there is nothing to sign in to",
    )
    .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    token: String,
}

/// `POST /api/v1/session`: a token in, a session cookie and CSRF token out.
pub async fn sign_in(State(state): State<Arc<AppState>>, body: axum::body::Bytes) -> Response {
    let auth = &state.options.auth;
    if !auth.enabled {
        return auth_off();
    }
    let body: SignIn = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(error) => {
            return ApiError::bad_data(format!(
                "invalid sign-in: {error}; expected {{\"token\": \"lk_...\"}}"
            ))
            .into_response()
        }
    };
    let token = body.token.trim();
    if token.len() > MAX_TOKEN_BYTES {
        return ApiError::bad_data(format!(
            "invalid sign-in: the token has {} bytes, more than {MAX_TOKEN_BYTES}",
            token.len()
        ))
        .into_response();
    }
    let Some(found) = auth.lookup(&hash_token(token)) else {
        tracing::debug!("sign-in refused: unknown token");
        state.audit.record(
            &Caller::anonymous(),
            "session.refused",
            "session".to_string(),
            "sign-in with an unknown token".to_string(),
        );
        return unauthorized("sign-in refused: unknown token");
    };
    let (id, csrf) = state.sessions.create(found);
    tracing::info!(token = %found.name, "dashboard signed in");
    let caller = Caller {
        name: found.name.clone(),
        role: Some(found.role),
    };
    state.audit.record(
        &caller,
        "session.sign_in",
        "session".to_string(),
        format!(
            "dashboard session as {} ({})",
            found.name,
            found.role.as_str()
        ),
    );
    let mut response = Json(json!({
        "name": found.name,
        "role": found.role.as_str(),
        "csrf_token": csrf,
    }))
    .into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&id, auth.secure_cookie, false),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /api/v1/session`: who the session cookie belongs to.
pub async fn who_am_i(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let auth = &state.options.auth;
    if !auth.enabled {
        return Json(json!({ "auth": false, "name": crate::auth::ANONYMOUS, "role": null }))
            .into_response();
    }
    let resolved = cookie_of(&headers).and_then(|id| state.sessions.resolve(auth, id));
    match resolved {
        Some(resolved) => Json(json!({
            "auth": true,
            "name": resolved.token.name,
            "role": resolved.token.role.as_str(),
            "csrf_token": resolved.csrf,
        }))
        .into_response(),
        None => unauthorized("not signed in (no session cookie, or it expired)"),
    }
}

/// `DELETE /api/v1/session`: signs out. Needs the session's CSRF token, so that
/// another site cannot sign a dashboard out.
pub async fn sign_out(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let auth = &state.options.auth;
    if !auth.enabled {
        return auth_off();
    }
    let Some(id) = cookie_of(&headers) else {
        return unauthorized("not signed in (no session cookie)");
    };
    let Some(resolved) = state.sessions.resolve(auth, id) else {
        let mut response = unauthorized("not signed in (the session expired or is unknown)");
        response
            .headers_mut()
            .insert(header::SET_COOKIE, set_cookie("", auth.secure_cookie, true));
        return response;
    };
    if !csrf_matches(&headers, &resolved.csrf) {
        return csrf_refused();
    }
    state.sessions.remove(id);
    tracing::info!(token = %resolved.token.name, "dashboard signed out");
    let caller = Caller {
        name: resolved.token.name.clone(),
        role: Some(resolved.token.role),
    };
    state.audit.record(
        &caller,
        "session.sign_out",
        "session".to_string(),
        "dashboard session ended".to_string(),
    );
    let mut response = Json(json!({ "signed_out": true })).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie("", auth.secure_cookie, true));
    response
}

/// 403 for a cookie-authenticated state-changing request without its CSRF token.
pub fn csrf_refused() -> Response {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "a request signed in with the session cookie must carry the session's CSRF token \
         in the X-CSRF-Token header (from the sign-in answer)",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn auth() -> AuthOptions {
        AuthOptions {
            enabled: true,
            tokens: vec![ApiToken {
                name: "ops".into(),
                role: Role::Admin,
                sha256: hash_token("lk_admin"),
            }],
            ..AuthOptions::default()
        }
    }

    #[test]
    fn a_session_resolves_to_its_token_until_removed() {
        let auth = auth();
        let sessions = Sessions::new(Duration::from_secs(3600), 10);
        let (id, csrf) = sessions.create(&auth.tokens[0]);
        assert_eq!(id.len(), 64);
        assert_ne!(id, csrf);
        let resolved = sessions.resolve(&auth, &id).unwrap();
        assert_eq!(resolved.token.name, "ops");
        assert_eq!(resolved.csrf, csrf);
        assert!(sessions.resolve(&auth, "nope").is_none());
        assert!(sessions.remove(&id));
        assert!(sessions.resolve(&auth, &id).is_none());
    }

    #[test]
    fn an_expired_session_or_one_whose_token_is_gone_is_refused() {
        let auth = auth();
        let sessions = Sessions::new(Duration::ZERO, 10);
        let (id, _) = sessions.create(&auth.tokens[0]);
        assert!(sessions.resolve(&auth, &id).is_none());
        assert!(sessions.is_empty());
        let sessions = Sessions::new(Duration::from_secs(3600), 10);
        let (id, _) = sessions.create(&auth.tokens[0]);
        let without = AuthOptions {
            tokens: Vec::new(),
            ..auth.clone()
        };
        assert!(sessions.resolve(&without, &id).is_none());
    }

    #[test]
    fn sessions_are_bounded() {
        let auth = auth();
        let sessions = Sessions::new(Duration::from_secs(3600), 3);
        let first = sessions.create(&auth.tokens[0]).0;
        for _ in 0..5 {
            sessions.create(&auth.tokens[0]);
        }
        assert_eq!(sessions.len(), 3);
        assert!(sessions.resolve(&auth, &first).is_none());
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; lookout_session=abc ; b=2".parse().unwrap(),
        );
        assert_eq!(cookie_of(&headers), Some("abc"));
        headers.insert(header::COOKIE, "lookout_session=".parse().unwrap());
        assert_eq!(cookie_of(&headers), None);
        let mut with_csrf = HeaderMap::new();
        with_csrf.insert(CSRF_HEADER, "xyz".parse().unwrap());
        assert!(csrf_matches(&with_csrf, "xyz"));
        assert!(!csrf_matches(&with_csrf, "xy"));
        assert!(!csrf_matches(&HeaderMap::new(), "xyz"));
    }
}
