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

use crate::host::{
    host_then, is_suffix_end, occurrences, port_opts_then, ssh_opt_then, token, word_char,
    word_ends, Host,
};

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
    common(message, mode)
        .or_else(|| if mode.ddos() { ddos(message) } else { None })
        .or_else(|| if mode.extra() { extra(message) } else { None })
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
fn user_from_greedy<'a>(s: &'a str, end: impl Fn(&str) -> bool) -> Option<(&'a str, Host)> {
    let positions: Vec<usize> = occurrences(s, " from ").collect();
    positions.into_iter().rev().find_map(|at| {
        let (host, ()) = host_then(&s[at + 6..], |rest| end(rest).then_some(()))?;
        Some((&s[..at], host))
    })
}

/// `USER from HOST` + `end`, USER lazy (the first ` from ` that works).
fn user_from_lazy<'a>(s: &'a str, end: impl Fn(&str) -> bool) -> Option<(&'a str, Host)> {
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

/// The forms of every mode, in the filter's order.
fn common(m: &str, mode: Mode) -> Option<Form> {
    use Outcome::*;
    if let Some(rest) = ["Authentication ", "authentication "]
        .iter()
        .find_map(|p| m.strip_prefix(p))
    {
        let rest = ["failure for ", "error for ", "failed for "]
            .iter()
            .find_map(|p| rest.strip_prefix(p));
        if let Some(rest) = rest {
            let end = |r: &str| {
                is_suffix_end(r)
                    || r.strip_prefix(" via ")
                        .map(|v| is_suffix_end(&v[token(v).len()..]) && !token(v).is_empty())
                        .unwrap_or(false)
            };
            if let Some((user, host)) = user_from_greedy(rest, end) {
                return Some(Form::new("pam_failure", Failure, Some(host), Some(user)));
            }
        }
    }
    if let Some(rest) =
        m.strip_prefix("User not known to the underlying authentication module for ")
    {
        if let Some((user, host)) = user_from_greedy(rest, is_suffix_end) {
            return Some(Form::new("unknown_user", Failure, Some(host), Some(user)));
        }
    }
    if let Some(rest) = m.strip_prefix("Failed publickey for invalid user ") {
        if let Some((user, host)) = failed_user_host(rest, true) {
            return Some(Form::new(
                "failed_publickey",
                Failure,
                Some(host),
                Some(user),
            ));
        }
    }
    if let Some(rest) = m.strip_prefix("Failed ") {
        let method = token(rest);
        if let Some(after) = rest[method.len()..].strip_prefix(" for ") {
            if !method.is_empty() {
                let found = after
                    .strip_prefix("invalid user ")
                    .and_then(|inv| failed_user_host(inv, true))
                    .or_else(|| failed_user_host(after, false));
                if let Some((user, host)) = found {
                    let outcome = if method == "publickey" {
                        Helper
                    } else {
                        Failure
                    };
                    let name = if method == "password" {
                        "failed_password"
                    } else {
                        "failed_auth"
                    };
                    return Some(Form::new(name, outcome, Some(host), Some(user)));
                }
            }
        }
    }
    if let Some(rest) = m.strip_prefix("ROOT LOGIN REFUSED FROM ") {
        if let Some((host, ())) = host_then(rest, |_| Some(())) {
            return Some(Form::new("root_refused", Failure, Some(host), Some("ROOT")));
        }
    }
    if let Some(rest) = [
        "Illegal user ",
        "illegal user ",
        "Invalid user ",
        "invalid user ",
    ]
    .iter()
    .find_map(|p| m.strip_prefix(p))
    {
        if let Some((user, host)) = user_from_lazy(rest, is_suffix_end) {
            return Some(Form::new("invalid_user", Failure, Some(host), Some(user)));
        }
    }
    const NOT_ALLOWED: &[&str] = &[
        "not listed in AllowUsers",
        "listed in DenyUsers",
        "not in any group",
    ];
    const NOT_ALLOWED_GROUPS: &[&str] = &[
        "a group is listed in DenyGroups",
        "none of user's groups are listed in AllowGroups",
    ];
    if let Some(form) = user_not_allowed(m, NOT_ALLOWED) {
        return Some(form);
    }
    if let Some(rest) = m.strip_prefix("refused connect from ") {
        let name = token(rest);
        if let Some(inner) = rest[name.len()..].strip_prefix(" (") {
            if !name.is_empty() {
                if let Some((host, ())) = host_then(inner, |r| r.starts_with(')').then_some(())) {
                    return Some(Form::new("tcpwrap_refused", Failure, Some(host), None));
                }
            }
        }
    }
    if let Some(rest) = m.strip_prefix("Received disconnect from ") {
        let found = host_then(rest, |r| {
            port_opts_then(r, |r| {
                let r = r.strip_prefix(':')?.trim_start().strip_prefix("3: ")?;
                occurrences(r, ": Auth fail")
                    .any(|at| is_suffix_end(&r[at + 11..]))
                    .then_some(())
            })
        });
        if let Some((host, ())) = found {
            return Some(Form::new("auth_fail_disconnect", Failure, Some(host), None).ending());
        }
    }
    if let Some(form) = user_not_allowed(m, NOT_ALLOWED_GROUPS) {
        return Some(form);
    }
    if let Some(form) = pam_unix(m) {
        return Some(form);
    }
    if let Some(rest) = m.strip_prefix("maximum authentication attempts exceeded for ") {
        let end = |r: &str| {
            port_opts_then(r, |r| ssh_opt_then(r, |r| is_suffix_end(r).then_some(()))).is_some()
        };
        if let Some((user, host)) = user_from_greedy(rest, end) {
            return Some(Form::new("max_attempts", Failure, Some(host), Some(user)));
        }
    }
    if let Some(rest) = m.strip_prefix("User ") {
        const LOCKED: &str = " not allowed because account is locked";
        let word = token(rest);
        let user = if !word.is_empty() && rest[word.len()..].starts_with(LOCKED) {
            Some(word)
        } else {
            rest.find(LOCKED).map(|at| &rest[..at])
        };
        if let Some(user) = user {
            return Some(Form::new("account_locked", Failure, None, Some(user)));
        }
    }
    if let Some(rest) = m.strip_prefix("Disconnecting") {
        let rest = rest.strip_prefix(" from").unwrap_or(rest);
        let rest = rest
            .strip_prefix(" invalid user ")
            .or_else(|| rest.strip_prefix(" authenticating user "));
        if let Some(rest) = rest {
            let user = token(rest);
            if let Some(after) = rest[user.len()..].strip_prefix(' ') {
                let found = host_then(after, |r| {
                    port_opts_then(r, |r| {
                        let r = r.strip_prefix(':')?.trim_start();
                        let r = r.strip_prefix("Change of username or service not allowed:")?;
                        r.trim_end().ends_with("[preauth]").then_some(())
                    })
                });
                if let (Some((host, ())), false) = (found, user.is_empty()) {
                    return Some(
                        Form::new("change_of_user", Failure, Some(host), Some(user)).ending(),
                    );
                }
            }
        }
    }
    if let Some(rest) = m.strip_prefix("Disconnecting: Too many authentication failures") {
        if let Some(after) = rest.strip_prefix(" for ") {
            let word = token(after);
            if !word.is_empty() && is_suffix_end(&after[word.len()..]) {
                return Some(Form::new("too_many_failures", Failure, None, Some(word)));
            }
            let lazy = after
                .char_indices()
                .map(|(i, _)| i)
                .chain([after.len()])
                .find(|&i| is_suffix_end(&after[i..]));
            if let Some(at) = lazy {
                return Some(Form::new(
                    "too_many_failures",
                    Failure,
                    None,
                    Some(&after[..at]),
                ));
            }
        }
        if is_suffix_end(rest) {
            return Some(Form::new("too_many_failures", Failure, None, None));
        }
    }
    if let Some(rest) = m.strip_prefix("Received disconnect from ") {
        let found = host_then(rest, |r| {
            port_opts_then(r, |r| {
                r.strip_prefix(':')?
                    .trim_start()
                    .starts_with("11:")
                    .then_some(())
            })
        });
        if let Some((host, ())) = found {
            return Some(Form::new("disconnect", Helper, Some(host), None).ending());
        }
    }
    if let Some(form) = closed(m, mode) {
        return Some(form);
    }
    if let Some(rest) = m.strip_prefix("Accepted ") {
        let method = rest
            .char_indices()
            .find(|&(_, c)| !word_char(c))
            .map_or(rest.len(), |(i, _)| i);
        if let Some(after) = rest[method..].strip_prefix(" for ") {
            let user = token(after);
            if let (Some(tail), false) = (
                after[user.len()..].strip_prefix(" from "),
                user.is_empty() || method == 0,
            ) {
                let found = host_then(tail, |r| {
                    (r.is_empty() || r.starts_with(char::is_whitespace)).then_some(())
                });
                if let Some((host, ())) = found {
                    return Some(Form::new("accepted", Success, Some(host), Some(user)).ending());
                }
            }
        }
    }
    None
}

/// `Failed <method> for [invalid user ]USER from HOST…`: the user is one token when the
/// message goes on with `: ` (key details), otherwise any text without ` from ` (for
/// invalid users) or without `:`, and the rest of the line holds no further ` from `.
fn failed_user_host(s: &str, invalid: bool) -> Option<(&str, Host)> {
    let tail = |after_host: &str, colon: bool| {
        port_opts_then(after_host, |r| {
            ssh_opt_then(r, |r| {
                let ok = if colon {
                    r.starts_with(": ")
                } else {
                    !r.contains(" from ")
                };
                ok.then_some(())
            })
        })
    };
    let word = token(s);
    if !word.is_empty() {
        if let Some(rest) = s[word.len()..].strip_prefix(" from ") {
            if let Some((host, ())) = host_then(rest, |r| tail(r, true)) {
                return Some((word, host));
            }
        }
    }
    if invalid {
        let at = s.find(" from ")?;
        let (host, ()) = host_then(&s[at + 6..], |r| tail(r, false))?;
        return Some((&s[..at], host));
    }
    let colon_free = s.find(':').unwrap_or(s.len());
    let positions: Vec<usize> = occurrences(s, " from ")
        .filter(|&at| at >= 1 && at <= colon_free)
        .collect();
    positions.into_iter().rev().find_map(|at| {
        let (host, ()) = host_then(&s[at + 6..], |r| tail(r, false))?;
        Some((&s[..at], host))
    })
}

/// `User USER from HOST not allowed because <reason>`.
fn user_not_allowed(m: &str, reasons: &[&str]) -> Option<Form> {
    let rest = m.strip_prefix("User ")?;
    let end = |r: &str| {
        let r = r.strip_prefix(" not allowed because ")?;
        reasons
            .iter()
            .any(|reason| r.strip_prefix(reason).is_some_and(is_suffix_end))
            .then_some(())
    };
    let (user, host) = user_token_or_lazy(rest, " from ", |r| host_then(r, end).map(|(h, _)| h))?;
    Some(Form::new(
        "user_not_allowed",
        Outcome::Failure,
        host,
        Some(user),
    ))
}

/// `pam_unix(sshd:auth): authentication failure; … ruser=R rhost=HOST [user=U]`.
fn pam_unix(m: &str) -> Option<Form> {
    let rest = m.strip_prefix("pam_")?;
    let name = rest.bytes().take_while(u8::is_ascii_lowercase).count();
    if name == 0 {
        return None;
    }
    let rest = rest[name..].strip_prefix("(sshd:auth):")?;
    let rest = rest.trim_start().strip_prefix("authentication failure;")?;
    let mut fields = rest.split_whitespace().peekable();
    let mut skipped = 0;
    while let Some(field) = fields.peek() {
        let known = ["logname=", "uid=", "euid=", "tty="]
            .iter()
            .any(|p| field.starts_with(p));
        if !known || skipped == 4 {
            break;
        }
        skipped += 1;
        fields.next();
    }
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let ruser = fields.next()?.strip_prefix("ruser=")?;
    let rhost = fields.next()?.strip_prefix("rhost=")?;
    let (host, ()) = host_then(rhost, |r| r.is_empty().then_some(()))?;
    let mut user = None;
    let remaining: Vec<&str> = fields.collect();
    let mut tail = remaining.as_slice();
    if let Some(first) = tail.first() {
        if let Some(u) = first.strip_prefix("user=") {
            user = Some(u);
            tail = &tail[1..];
        }
    }
    let joined: String = tail.iter().map(|t| format!(" {t}")).collect();
    if !is_suffix_end(&joined) {
        return None;
    }
    let user = user.filter(|u| !u.is_empty()).unwrap_or(ruser);
    Some(Form::new(
        "pam_auth_failure",
        Outcome::Helper,
        Some(host),
        Some(user),
    ))
}

/// `Connection closed by …`, `Connection reset by …`, `Disconnected from …`: a helper in
/// `normal` mode, a failure before authentication (`[preauth]`) in `ddos` and
/// `aggressive`, and only `Disconnected from … user U HOST … [preauth]` in `extra`.
fn closed(m: &str, mode: Mode) -> Option<Form> {
    let rest = m
        .strip_prefix("Connection closed ")
        .or_else(|| m.strip_prefix("Connection reset "))
        .or_else(|| m.strip_prefix("Disconnected "));
    let disconnected = m.starts_with("Disconnected ");
    let rest = rest?;
    let rest = match rest
        .strip_prefix("by")
        .or_else(|| rest.strip_prefix("from"))
    {
        Some(rest) => rest,
        // `Disconnected invalid user …` (no `from`) is an `extra` form.
        None if disconnected && mode == Mode::Extra => &m["Disconnected".len()..],
        None => return None,
    };
    let preauth_end = |r: &str| {
        port_opts_then(r, |r| {
            let t = r.trim_start();
            (t.len() < r.len()
                && t.strip_prefix("[preauth]")
                    .is_some_and(|x| x.trim().is_empty()))
            .then_some(())
        })
        .is_some()
    };
    let plain_end = |r: &str, opts: bool| {
        if opts {
            port_opts_then(r, |r| r.trim().is_empty().then_some(())).is_some()
        } else {
            is_suffix_end(r)
        }
    };
    // The optional ` invalid|authenticating user USER` before ` HOST`.
    let read = |end: &dyn Fn(&str) -> bool, need_user: bool| -> Option<(Option<&str>, Host)> {
        for marker in [" invalid user ", " authenticating user "] {
            if let Some(after) = rest.strip_prefix(marker) {
                let found = user_token_or_lazy(after, " ", |r| {
                    host_then(r, |t| end(t).then_some(())).map(|(h, _)| h)
                });
                if let Some((user, Some(host))) = found {
                    return Some((Some(user), host));
                }
            }
        }
        if need_user {
            return None;
        }
        let after = rest.strip_prefix(' ')?;
        let (host, ()) = host_then(after, |t| end(t).then_some(()))?;
        Some((None, host))
    };
    match mode {
        Mode::Normal => {
            let (user, host) = read(&|r| plain_end(r, false), false)?;
            Some(Form::new("closed", Outcome::Helper, Some(host), user).ending())
        }
        Mode::Ddos | Mode::Aggressive => {
            if let Some((user, host)) = read(&preauth_end, false) {
                return Some(
                    Form::new("closed_preauth", Outcome::Failure, Some(host), user).ending(),
                );
            }
            let (user, host) = read(&|r| plain_end(r, true), false)?;
            Some(Form::new("closed", Outcome::Helper, Some(host), user).ending())
        }
        Mode::Extra => {
            if !disconnected {
                return None;
            }
            let extra_end = |r: &str| {
                port_opts_then(r, |r| {
                    r.strip_prefix(" [preauth]")
                        .is_some_and(|x| x.trim().is_empty())
                        .then_some(())
                })
                .is_some()
            };
            let (user, host) = read(&extra_end, true)?;
            Some(Form::new("closed_preauth", Outcome::Failure, Some(host), user).ending())
        }
    }
}

/// `ddos` forms: no identification, bad protocol, resets before authentication.
fn ddos(m: &str) -> Option<Form> {
    use Outcome::*;
    if let Some(rest) = m.strip_prefix("Did not receive identification string from ") {
        let (host, ()) = host_then(rest, |_| Some(()))?;
        return Some(Form::new("no_identification", Failure, Some(host), None));
    }
    if let Some(rest) = m.strip_prefix("kex_exchange_identification: ") {
        let rest = rest.strip_prefix("read: ").unwrap_or(rest);
        let known = [
            "Client sent invalid protocol identifier",
            "client sent invalid protocol identifier",
            "Connection closed by remote host",
            "connection closed by remote host",
            "Connection reset by peer",
            "connection reset by peer",
        ];
        if known.iter().any(|k| rest.starts_with(k)) {
            return Some(Form::new("bad_identification", Failure, None, None));
        }
    }
    if let Some(rest) = m.strip_prefix("Bad protocol version identification '") {
        let positions: Vec<usize> = occurrences(rest, "' from ").collect();
        let found = positions
            .into_iter()
            .rev()
            .find_map(|at| host_then(&rest[at + 7..], |_| Some(())));
        if let Some((host, ())) = found {
            return Some(Form::new("bad_protocol", Failure, Some(host), None));
        }
    }
    if let Some(rest) = m.strip_prefix("SSH: Server;Ltype: ") {
        let rest = ["Authname", "Version", "Kex"]
            .iter()
            .find_map(|k| rest.strip_prefix(k))
            .and_then(|r| r.strip_prefix(";Remote: "));
        if let Some(rest) = rest {
            let found = host_then(rest, |r| {
                let r = r.strip_prefix('-')?;
                let digits = r.bytes().take_while(u8::is_ascii_digit).count();
                let r = r[digits..].strip_prefix(';')?;
                let mut chars = r.chars();
                let first = chars.next()?;
                let word: String = chars.take_while(|&c| word_char(c)).collect();
                (digits > 0
                    && first.is_ascii_uppercase()
                    && r[first.len_utf8() + word.len()..].starts_with(':'))
                .then_some(())
            });
            if let Some((host, ())) = found {
                return Some(Form::new("ssh_server_info", Helper, Some(host), None));
            }
        }
    }
    if m.starts_with("Read from socket failed: Connection reset by peer") {
        return Some(Form::new("socket_reset", Failure, None, None).ending());
    }
    if let Some(rest) = m.strip_prefix("banner exchange: Connection from ") {
        let found = host_then(rest, |r| {
            port_opts_then(r, |r| r.starts_with(": invalid format").then_some(()))
        });
        if let Some((host, ())) = found {
            return Some(Form::new("bad_banner", Failure, Some(host), None));
        }
    }
    None
}

/// `no matching <up to three words> found` followed by `next`.
fn algorithm_then(s: &str, next: char) -> bool {
    let ends = word_ends(s, 3);
    ends.iter().enumerate().any(|(i, &end)| {
        let later_words_ok = ends[..i]
            .iter()
            .zip(ends[1..=i].iter())
            .all(|(&a, &b)| &s[a + 1..b] != "found");
        later_words_ok
            && s[end..]
                .strip_prefix(" found")
                .and_then(|r| r.chars().next())
                .is_some_and(|c| next == '\0' || c == next)
    })
}

/// `extra` forms: negotiation failures.
fn extra(m: &str) -> Option<Form> {
    use Outcome::*;
    if let Some(rest) = m.strip_prefix("Received disconnect from ") {
        let found = host_then(rest, |r| {
            port_opts_then(r, |r| {
                let r = r.strip_prefix(':')?.trim_start().strip_prefix("14: No")?;
                let r = r.strip_prefix(" supported").unwrap_or(r);
                r.starts_with(" authentication methods available")
                    .then_some(())
            })
        });
        if let Some((host, ())) = found {
            return Some(Form::new("no_auth_methods", Failure, Some(host), None).ending());
        }
    }
    if let Some(rest) = m.strip_prefix("Unable to negotiate with ") {
        let found = host_then(rest, |r| {
            port_opts_then(r, |r| {
                algorithm_then(r.strip_prefix(": no matching ")?, '\0').then_some(())
            })
        });
        if let Some((host, ())) = found {
            return Some(Form::new(
                "no_matching_algorithm",
                Failure,
                Some(host),
                None,
            ));
        }
    }
    if let Some(rest) = m.strip_prefix("Unable to negotiate a ") {
        if rest.chars().next().is_some_and(word_char) {
            return Some(Form::new("no_matching_algorithm", Failure, None, None));
        }
    }
    if let Some(rest) = m.strip_prefix("no matching ") {
        if algorithm_then(rest, ':') {
            return Some(Form::new("no_matching_algorithm", Failure, None, None));
        }
    }
    None
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
