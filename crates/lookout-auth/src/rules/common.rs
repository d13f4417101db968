//! The forms of every mode, in the order of fail2ban's `cmnfailre` list.

use super::{user_from_greedy, user_from_lazy, user_token_or_lazy, Form, Mode, Outcome};
use crate::host::{
    host_then, is_suffix_end, occurrences, port_opts_then, ssh_opt_then, token, word_char, Host,
};

/// The forms of every mode, in the filter's order.
pub(super) fn common(m: &str, mode: Mode) -> Option<Form> {
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
    if let Some(form) = super::modes::closed(m, mode) {
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
