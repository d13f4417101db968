//! The forms whose meaning depends on the mode: pre-auth closes, `ddos` and `extra`.

use super::{user_token_or_lazy, Form, Mode, Outcome};
use crate::host::{
    host_then, is_suffix_end, occurrences, port_opts_then, word_char, word_ends, Host,
};

/// `Connection closed by …`, `Connection reset by …`, `Disconnected from …`: a helper in
/// `normal` mode, a failure before authentication (`[preauth]`) in `ddos` and
/// `aggressive`, and only `Disconnected from … user U HOST … [preauth]` in `extra`.
pub(super) fn closed(m: &str, mode: Mode) -> Option<Form> {
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
pub(super) fn ddos(m: &str) -> Option<Form> {
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
pub(super) fn extra(m: &str) -> Option<Form> {
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
