//! What one sshd message says: the forms fail2ban's `sshd` filter knows, read by hand.
//!
//! [`classify`] takes a message (the text after the `host sshd[pid]:` prefix) and
//! answers the first form it has, in the filter's order, as a [`Form`]:
//!
//! - a **failure** (`Failed password for … from HOST`, `Invalid user … from HOST`, PAM
//!   and `maximum authentication attempts` failures, refused users, pre-auth
//!   disconnects in the modes that count them, …), maybe without a host (`Disconnecting:
//!   Too many authentication failures`), which the connection's earlier lines supply;
//! - a **helper** that is not a failure by itself but names the connection's host or
//!   counts as a failure when more follow (`Connection from HOST`, a PAM failure that a
//!   second method may still turn into a success, a valid user's rejected public key);
//! - a **success** (`Accepted password for USER from HOST`).
//!
//! Which forms count depends on the [`Mode`] (fail2ban's `normal`, `ddos`, `extra` and
//! `aggressive`). Misses: messages of other daemons, and forms newer than fail2ban's
//! filter. Cost: a handful of prefix comparisons per message, and for the forms that
//! match, a scan of the message bounded by its length times the host length limit.

mod common;
mod modes;

use crate::host::{host_then, occurrences, token, Host};

/// fail2ban's `mode` of the sshd filter: which forms count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Authentication failures.
    #[default]
    Normal,
    /// Also connection floods and port scans (no identification, pre-auth closes).
    Ddos,
    /// Also negotiation failures (no matching cipher, no authentication methods).
    Extra,
    /// Everything.
    Aggressive,
}

impl Mode {
    pub const NAMES: &'static [&'static str] = &["normal", "ddos", "extra", "aggressive"];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Normal => "normal",
            Mode::Ddos => "ddos",
            Mode::Extra => "extra",
            Mode::Aggressive => "aggressive",
        }
    }

    fn ddos(self) -> bool {
        matches!(self, Mode::Ddos | Mode::Aggressive)
    }

    fn extra(self) -> bool {
        matches!(self, Mode::Extra | Mode::Aggressive)
    }
}

impl std::str::FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "normal" => Ok(Mode::Normal),
            "ddos" => Ok(Mode::Ddos),
            "extra" => Ok(Mode::Extra),
            "aggressive" => Ok(Mode::Aggressive),
            other => Err(format!(
                "unknown mode {other:?} (known: {})",
                Mode::NAMES.join(", ")
            )),
        }
    }
}

/// What a form means for its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Failure,
    /// Not a failure alone; names the host, becomes one if the connection fails on.
    Helper,
    Success,
}

/// One recognised message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// A short name of the form (`failed_password`, `invalid_user`, …).
    pub name: &'static str,
    pub outcome: Outcome,
    /// The connection ends here: its remembered state is dropped after this line.
    pub ends: bool,
    pub host: Option<Host>,
    pub user: Option<String>,
}

impl Form {
    fn new(name: &'static str, outcome: Outcome, host: Option<Host>, user: Option<&str>) -> Form {
        Form {
            name,
            outcome,
            ends: false,
            host,
            user: user.map(str::to_string),
        }
    }

    fn ending(mut self) -> Form {
        self.ends = true;
        self
    }
}

/// Strips the optional `error: `, `fatal: ` (and then `PAM: `) that some versions put
/// before the message.
pub fn strip_level(message: &str) -> &str {
    for level in ["error: ", "fatal: "] {
        if let Some(rest) = message.strip_prefix(level) {
            return rest.strip_prefix("PAM: ").unwrap_or(rest);
        }
    }
    message
}

/// The first form `message` (without its level, see [`strip_level`]) has in `mode`.
pub fn classify(message: &str, mode: Mode) -> Option<Form> {
    common::common(message, mode)
        .or_else(|| {
            if mode.ddos() {
                modes::ddos(message)
            } else {
                None
            }
        })
        .or_else(|| {
            if mode.extra() {
                modes::extra(message)
            } else {
                None
            }
        })
        .or_else(|| {
            let rest = message.strip_prefix("Connection from ")?;
            let (host, ()) = host_then(rest, |_| Some(()))?;
            Some(Form::new(
                "connection_from",
                Outcome::Helper,
                Some(host),
                None,
            ))
        })
}

/// `USER from HOST` + `end`, USER greedy (the last ` from ` that works).
fn user_from_greedy(s: &str, end: impl Fn(&str) -> bool) -> Option<(&str, Host)> {
    let positions: Vec<usize> = occurrences(s, " from ").collect();
    positions.into_iter().rev().find_map(|at| {
        let (host, ()) = host_then(&s[at + 6..], |rest| end(rest).then_some(()))?;
        Some((&s[..at], host))
    })
}

/// `USER from HOST` + `end`, USER lazy (the first ` from ` that works).
fn user_from_lazy(s: &str, end: impl Fn(&str) -> bool) -> Option<(&str, Host)> {
    occurrences(s, " from ").find_map(|at| {
        let (host, ()) = host_then(&s[at + 6..], |rest| end(rest).then_some(()))?;
        Some((&s[..at], host))
    })
}

/// `USER` + `sep` + rest, USER one token if that works, else the shortest text.
fn user_token_or_lazy<'a>(
    s: &'a str,
    sep: &str,
    then: impl Fn(&str) -> Option<Host>,
) -> Option<(&'a str, Option<Host>)> {
    let word = token(s);
    if !word.is_empty() {
        if let Some(rest) = s[word.len()..].strip_prefix(sep) {
            if let Some(host) = then(rest) {
                return Some((word, Some(host)));
            }
        }
    }
    occurrences(s, sep).find_map(|at| {
        let host = then(&s[at + sep.len()..])?;
        Some((&s[..at], Some(host)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(m: &str, mode: Mode) -> Option<(Outcome, String)> {
        let form = classify(strip_level(m), mode)?;
        Some((
            form.outcome,
            form.host
                .map(|h| h.as_str().to_string())
                .unwrap_or_default(),
        ))
    }

    #[test]
    fn failed_password_resists_injected_addresses() {
        let f = |m| host(m, Mode::Normal).map(|(_, h)| h);
        assert_eq!(
            f("Failed password for invalid user from 10.10.1.1 from 127.0.0.1 port 58946 ssh2"),
            Some("127.0.0.1".into())
        );
        assert_eq!(
            f("Failed password for invalid user test from 10.10.1.2 port 55555 ssh2 from 127.0.0.1 port 58946 ssh2"),
            Some("127.0.0.1".into())
        );
        assert_eq!(
            f("Failed password for user from 127.0.0.1 port 20000 ssh1: ruser from 1.2.3.4"),
            Some("127.0.0.1".into())
        );
        assert_eq!(
            f("Failed password for dan from 127.0.0.1 port 45416 ssh1"),
            Some("127.0.0.1".into())
        );
    }

    #[test]
    fn publickey_of_a_valid_user_is_a_helper() {
        let got = host(
            "Failed publickey for git from 192.0.2.1 port 5 ssh2: RSA x",
            Mode::Normal,
        );
        assert_eq!(got, Some((Outcome::Helper, "192.0.2.1".into())));
        let got = host(
            "Failed publickey for invalid user g from 192.0.2.1 port 5 ssh2: RSA x",
            Mode::Normal,
        );
        assert_eq!(got, Some((Outcome::Failure, "192.0.2.1".into())));
    }

    #[test]
    fn modes_decide_preauth_closes() {
        let m = "Connection closed by 192.0.2.212 [preauth]";
        assert_eq!(host(m, Mode::Normal).unwrap().0, Outcome::Helper);
        assert_eq!(host(m, Mode::Ddos).unwrap().0, Outcome::Failure);
        assert_eq!(host(m, Mode::Extra), None);
        let m = "Disconnected from authenticating user root 192.0.2.6 port 33553 [preauth]";
        assert_eq!(
            host(m, Mode::Extra),
            Some((Outcome::Failure, "192.0.2.6".into()))
        );
    }

    #[test]
    fn negotiation_failures_in_extra_mode_only() {
        let m =
            "Unable to negotiate with 192.0.2.2 port 50404: no matching MAC found. Their offer: x";
        assert_eq!(host(m, Mode::Normal), None);
        assert_eq!(
            host(m, Mode::Extra),
            Some((Outcome::Failure, "192.0.2.2".into()))
        );
        assert!(host("fatal: no matching mac found: client x", Mode::Extra).is_some());
    }

    #[test]
    fn success_and_level_prefixes() {
        let got = host(
            "Accepted password for rda from 192.0.2.113 port 52100 ssh2",
            Mode::Normal,
        );
        assert_eq!(got, Some((Outcome::Success, "192.0.2.113".into())));
        let got = host(
            "error: PAM: Authentication failure for x from 2001:db8::1",
            Mode::Normal,
        );
        assert_eq!(got, Some((Outcome::Failure, "2001:db8::1".into())));
    }
}
