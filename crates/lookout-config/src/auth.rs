//! `[auth]`: API tokens with roles.
//!
//! ```toml
//! [auth]
//! enabled = true
//! tokens_file = "/etc/lookout/tokens"     # optional, one token a line
//! session_ttl = "12h"                     # dashboard sign-in, idle expiry
//!
//! [[auth.token]]
//! name = "prometheus"
//! role = "write"
//! sha256 = "<64 hex digits: SHA-256 of the secret token>"
//! ```
//!
//! Only the SHA-256 digest of each token is kept (tokens are 32 random bytes, so a
//! fast hash is enough: there is nothing to guess from a dictionary). `lookout token
//! create` makes a token and prints its entry. The tokens file has one token a line,
//! `NAME ROLE SHA256`, with `#` comments and blank lines ignored; it is read when the
//! configuration is loaded, and its mistakes are reported with its own name and line
//! alongside the configuration's.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

use crate::error::{ConfigError, ErrorKind};
use crate::raw::{Field, Located};

/// What a token may do. `admin` may do everything; `write` only ingests (it does not
/// read: a collector's credential should not expose the data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Queries, the dashboard's API, `/metrics`.
    Read,
    /// Ingestion: remote write, Influx, JSON samples, events.
    Write,
    /// Silences, feedback, rules and models, besides reading and writing.
    Admin,
}

/// The accepted role names, for error messages.
pub const ROLE_NAMES: &[&str] = &["read", "write", "admin"];

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "read" => Some(Role::Read),
            "write" => Some(Role::Write),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::Admin => "admin",
        }
    }

    /// Whether a token with this role may do what `required` asks.
    pub fn allows(self, required: Role) -> bool {
        self == required || self == Role::Admin
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One accepted token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEntry {
    /// Who uses it: shown in the audit log and recorded as a silence's creator.
    pub name: String,
    pub role: Role,
    /// SHA-256 of the secret token.
    pub sha256: [u8; 32],
    /// Where it was defined, for messages.
    pub file: String,
    pub line: usize,
}

impl TokenEntry {
    /// `file:line`.
    pub fn origin(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// How long a dashboard session lasts without a request, by default.
pub const DEFAULT_SESSION_TTL: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

/// `[auth]`, validated; with `tokens_file` already read into `tokens`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// When false, every route is open (and a non-loopback `listen` needs
    /// `[server] allow_unauthenticated_remote`).
    pub enabled: bool,
    pub tokens_file: Option<PathBuf>,
    /// The tokens of `[[auth.token]]` and of the tokens file.
    pub tokens: Vec<TokenEntry>,
    /// A dashboard session ends after this long without a request (1 minute to 30 days).
    pub session_ttl: std::time::Duration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            enabled: false,
            tokens_file: None,
            tokens: Vec::new(),
            session_ttl: DEFAULT_SESSION_TTL,
        }
    }
}

/// `[auth]` without its `token` array.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    pub enabled: Field<bool>,
    pub tokens_file: Field<String>,
    pub session_ttl: Field<String>,
}

/// `[[auth.token]]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawToken {
    pub name: Field<String>,
    pub role: Field<String>,
    pub sha256: Field<String>,
}

/// Parses 64 hex digits.
pub fn parse_sha256_hex(text: &str) -> Result<[u8; 32], String> {
    let text = text.trim();
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "{:?} is not a SHA-256 digest (64 hex digits; `lookout token create` prints one)",
            shorten(text)
        ));
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("checked hex");
    }
    Ok(out)
}

/// A digest as 64 lower-case hex digits.
pub fn sha256_hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_string(),
    }
}

/// Names a token may not have: `created_by` and the audit log use them for requests
/// without authentication and for lookout's own actions.
pub const RESERVED_NAMES: &[&str] = &["anonymous", "lookout"];

/// Checks a token name: 1..=64 characters of `[A-Za-z0-9_.@-]`, so it fits a tokens
/// file line, a log field and a silence's `created_by`.
pub fn check_token_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.@-".contains(&b));
    if ok && RESERVED_NAMES.contains(&name) {
        return Err(format!(
            "{name:?} is reserved (it names requests without a token or lookout itself)"
        ));
    }
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{:?} is not a token name (1 to 64 of letters, digits, `_`, `.`, `@`, `-`)",
            shorten(name)
        ))
    }
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text)
        .ok_or_else(|| format!("unknown role {text:?} (one of: {})", ROLE_NAMES.join(", ")))
}

/// Reads the text of a tokens file (`NAME ROLE SHA256` a line); every bad line is an
/// error naming `file` and the line.
pub fn parse_tokens_file(text: &str, file: &str) -> (Vec<TokenEntry>, Vec<ConfigError>) {
    let mut tokens = Vec::new();
    let mut errors = Vec::new();
    let error = |line: usize, key: Option<&str>, message: String| ConfigError {
        kind: ErrorKind::InvalidValue,
        file: file.to_string(),
        line: Some(line),
        context: "tokens file".to_string(),
        key: key.map(String::from),
        message,
    };
    for (number, line) in text.lines().enumerate() {
        let number = number + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [name, role, digest] = fields[..] else {
            errors.push(error(
                number,
                None,
                format!(
                    "expected `NAME ROLE SHA256`, found {} field{}",
                    fields.len(),
                    if fields.len() == 1 { "" } else { "s" }
                ),
            ));
            continue;
        };
        let name_ok = check_token_name(name).map_err(|m| error(number, Some("name"), m));
        let role = parse_role(role).map_err(|m| error(number, Some("role"), m));
        let digest = parse_sha256_hex(digest).map_err(|m| error(number, Some("sha256"), m));
        match (name_ok, role, digest) {
            (Ok(()), Ok(role), Ok(sha256)) => tokens.push(TokenEntry {
                name: name.to_string(),
                role,
                sha256,
                file: file.to_string(),
                line: number,
            }),
            (a, b, c) => errors.extend([a.err(), b.err(), c.err()].into_iter().flatten()),
        }
    }
    (tokens, errors)
}

/// Duplicate names and duplicate digests among `tokens`, as errors on the later one.
pub fn duplicate_errors(tokens: &[TokenEntry]) -> Vec<ConfigError> {
    let mut names: BTreeMap<&str, String> = BTreeMap::new();
    let mut digests: BTreeMap<[u8; 32], String> = BTreeMap::new();
    let mut errors = Vec::new();
    let error = |token: &TokenEntry, key: &str, message: String| ConfigError {
        kind: ErrorKind::Duplicate,
        file: token.file.clone(),
        line: Some(token.line),
        context: "token".to_string(),
        key: Some(key.to_string()),
        message,
    };
    for token in tokens {
        if let Some(first) = names.insert(&token.name, token.origin()) {
            let message = format!("token name {:?} is already used at {first}", token.name);
            errors.push(error(token, "name", message));
        }
        if let Some(first) = digests.insert(token.sha256, token.origin()) {
            let message = format!(
                "token {:?} has the same digest as the token at {first}",
                token.name
            );
            errors.push(error(token, "sha256", message));
        }
    }
    errors
}

/// Reads `tokens_file` into `auth.tokens` and checks the whole set: duplicates, and
/// that an enabled `[auth]` has a token. Errors are added to `errors`.
pub(crate) fn finish(auth: &mut AuthConfig, config_file: &str, errors: &mut Vec<ConfigError>) {
    if let Some(path) = auth.tokens_file.clone() {
        let name = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let (tokens, file_errors) = parse_tokens_file(&text, &name);
                auth.tokens.extend(tokens);
                errors.extend(file_errors);
            }
            Err(error) => errors.push(ConfigError {
                kind: ErrorKind::Io,
                file: config_file.to_string(),
                line: None,
                context: "[auth]".to_string(),
                key: Some("tokens_file".to_string()),
                message: format!("cannot read the tokens file {name}: {error}"),
            }),
        }
    }
    errors.extend(duplicate_errors(&auth.tokens));
    let file_failed = errors
        .iter()
        .any(|e| e.context == "tokens file" || e.kind == ErrorKind::Io);
    if auth.enabled && auth.tokens.is_empty() && !file_failed {
        errors.push(ConfigError {
            kind: ErrorKind::MissingKey,
            file: config_file.to_string(),
            line: None,
            context: "[auth]".to_string(),
            key: Some("enabled".to_string()),
            message: "authentication is enabled but no token is defined (add [[auth.token]] \
                      tables or a tokens_file; `lookout token create` makes one)"
                .to_string(),
        });
    }
}

impl crate::validate::Checker<'_, '_, '_> {
    /// Validates `[auth]` and its `[[auth.token]]` tables (the tokens file is read by
    /// [`crate::Config::load_validate_with`]).
    pub(crate) fn auth(
        &mut self,
        raw: &RawAuth,
        tokens: &[Located<RawToken>],
        file: &str,
    ) -> AuthConfig {
        let context = "[auth]";
        let enabled = self.value(context, "enabled", &raw.enabled, false, |v| Ok(*v));
        let tokens_file = self.value(context, "tokens_file", &raw.tokens_file, None, |path| {
            if path.trim().is_empty() {
                Err("must not be empty".to_string())
            } else {
                Ok(Some(PathBuf::from(path)))
            }
        });
        let session_ttl = self.duration(
            context,
            "session_ttl",
            &raw.session_ttl,
            DEFAULT_SESSION_TTL,
            std::time::Duration::from_secs(60),
        );
        let session_ttl = if session_ttl > std::time::Duration::from_secs(30 * 86_400) {
            if let Some(field) = &raw.session_ttl {
                self.report_at(
                    ErrorKind::InvalidValue,
                    context,
                    "session_ttl",
                    field,
                    format!("{:?} is too long (at most 30d)", field.get_ref()),
                );
            }
            DEFAULT_SESSION_TTL
        } else {
            session_ttl
        };
        let mut entries = Vec::new();
        for item in tokens {
            let context = format!("[[auth.token]] #{}", item.index);
            let token = &item.value;
            let missing = |this: &mut Self, key: &str| {
                this.report_line(
                    ErrorKind::MissingKey,
                    item.line,
                    &context,
                    Some(key),
                    "missing key".to_string(),
                )
            };
            let name = match &token.name {
                None => {
                    missing(self, "name");
                    None
                }
                Some(_) => self.value(&context, "name", &token.name, None, |n| {
                    check_token_name(n).map(|()| Some(n.clone()))
                }),
            };
            let role = match &token.role {
                None => {
                    missing(self, "role");
                    None
                }
                Some(_) => self.value(&context, "role", &token.role, None, |r| {
                    parse_role(r).map(Some)
                }),
            };
            let sha256 = match &token.sha256 {
                None => {
                    missing(self, "sha256");
                    None
                }
                Some(_) => self.value(&context, "sha256", &token.sha256, None, |d| {
                    parse_sha256_hex(d).map(Some)
                }),
            };
            if let (Some(name), Some(role), Some(sha256)) = (name, role, sha256) {
                let line = token.name.as_ref().map_or(item.line, |n| self.line(n));
                entries.push(TokenEntry {
                    name,
                    role,
                    sha256,
                    file: file.to_string(),
                    line,
                });
            }
        }
        AuthConfig {
            enabled,
            tokens_file,
            tokens: entries,
            session_ttl,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn roles_parse_and_admin_implies_the_others() {
        assert_eq!(Role::parse("admin"), Some(Role::Admin));
        assert_eq!(Role::parse("Admin"), None);
        assert!(Role::Admin.allows(Role::Read) && Role::Admin.allows(Role::Write));
        assert!(!Role::Write.allows(Role::Read), "write does not read");
        assert!(!Role::Read.allows(Role::Write));
        assert!(!Role::Read.allows(Role::Admin));
    }

    #[test]
    fn a_tokens_file_reports_every_bad_line() {
        let text = format!(
            "# comment\n\nci write {DIGEST}\nbad role-x {DIGEST}\nshort read abc\nonly two\nci admin {}\n",
            DIGEST.replace('9', "8")
        );
        let (tokens, errors) = parse_tokens_file(&text, "tokens");
        assert_eq!(tokens.len(), 2);
        assert_eq!(tokens[0].origin(), "tokens:3");
        let shown: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(shown.len(), 3, "{shown:?}");
        assert!(
            shown[0].starts_with("tokens:4: tokens file key \"role\""),
            "{shown:?}"
        );
        assert!(shown[1].starts_with("tokens:5:") && shown[1].contains("SHA-256"));
        assert!(shown[2].contains("expected `NAME ROLE SHA256`"));
        let duplicates = duplicate_errors(&tokens);
        assert_eq!(duplicates.len(), 1);
        let shown = duplicates[0].to_string();
        assert!(shown.starts_with("tokens:7: token key \"name\""), "{shown}");
        assert!(shown.contains("already used at tokens:3"), "{shown}");
    }

    #[test]
    fn digests_round_trip_and_malformed_ones_are_refused() {
        let digest = parse_sha256_hex(DIGEST).unwrap();
        assert_eq!(sha256_hex(&digest), DIGEST);
        assert!(parse_sha256_hex(&DIGEST[1..]).is_err());
        assert!(parse_sha256_hex(&DIGEST.replace('a', "g")).is_err());
        assert!(check_token_name("grafana-prod").is_ok());
        assert!(check_token_name("two words").is_err());
        assert!(check_token_name("").is_err());
        assert!(check_token_name("anonymous")
            .unwrap_err()
            .contains("reserved"));
    }
}
