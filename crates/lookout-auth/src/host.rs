//! The small grammar the sshd messages share: a remote host (IPv4, IPv6, an
//! IPv4-mapped IPv6 address or a DNS name), ` port N` / ` on ADDR` options and the
//! trailing `[preauth]` marker.
//!
//! Every parser here takes the rest of a message and a continuation, and tries the
//! continuation on each way the element can be read, longest first, so that a message
//! is read the way a backtracking regular expression would read it, without one. Each
//! element is bounded (a host is at most [`MAX_HOST`] bytes), so the work per message is
//! linear in its length times a small constant.

/// The longest host name considered (DNS names are at most 253 bytes).
pub const MAX_HOST: usize = 255;

/// A remote host as written in a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Host {
    /// A dotted IPv4 address (also when written IPv4-mapped, `::ffff:1.2.3.4`).
    V4(String),
    V6(String),
    /// A name that is not an address (`example.com`); not resolved.
    Dns(String),
}

impl Host {
    /// The host as text.
    pub fn as_str(&self) -> &str {
        match self {
            Host::V4(s) | Host::V6(s) | Host::Dns(s) => s,
        }
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_dns_char(c: char) -> bool {
    is_word(c) || c == '-' || c == '.' || c == '^'
}

/// `d{1,3}(.d{1,3}){3}` exactly.
fn is_ipv4(s: &str) -> bool {
    let mut parts = 0;
    for part in s.split('.') {
        parts += 1;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    parts == 4
}

/// Hex groups of 1–4 digits separated by `:` or `::`, 2 to 8 groups, at most one `::`,
/// possibly starting or ending with `::`.
fn is_ipv6(s: &str) -> bool {
    if s.len() < 2 || !s.contains(':') || s.contains(":::") {
        return false;
    }
    if s.matches("::").count() > 1 {
        return false;
    }
    let compressed = s.contains("::");
    let (head, tail) = match s.split_once("::") {
        Some((head, tail)) => (head, tail),
        None => (s, ""),
    };
    let mut groups = 0;
    for side in [head, tail] {
        if side.is_empty() {
            continue;
        }
        for group in side.split(':') {
            if group.is_empty() || group.len() > 4 || !group.bytes().all(|b| b.is_ascii_hexdigit())
            {
                return false;
            }
            groups += 1;
        }
    }
    if compressed {
        groups <= 7
    } else {
        groups == 8
    }
}

/// Reads `text` (a whole candidate) as a host.
fn host_of(text: &str) -> Option<Host> {
    let bare = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    let lower = bare.to_ascii_lowercase();
    for mapped in ["::ffff:", "::fffff:", "::ffffff:"] {
        if let Some(v4) = lower.strip_prefix(mapped) {
            if is_ipv4(v4) {
                return Some(Host::V4(v4.to_string()));
            }
        }
    }
    if is_ipv4(bare) {
        return Some(Host::V4(bare.to_string()));
    }
    if is_ipv6(bare) {
        return Some(Host::V6(bare.to_string()));
    }
    let last = text.chars().next_back()?;
    if text.chars().all(is_dns_char) && is_word(last) {
        return Some(Host::Dns(text.to_string()));
    }
    None
}

/// Reads a host at the start of `s`, then `then` on the rest; the longest reading
/// for which `then` answers wins.
pub fn host_then<T>(s: &str, mut then: impl FnMut(&str) -> Option<T>) -> Option<(Host, T)> {
    let run = s
        .char_indices()
        .find(|&(_, c)| !(is_dns_char(c) || c == ':' || c == '[' || c == ']'))
        .map_or(s.len(), |(i, _)| i)
        .min(MAX_HOST);
    let mut ends: Vec<usize> = s[..floor_boundary(s, run)]
        .char_indices()
        .map(|(i, c)| i + c.len_utf8())
        .collect();
    ends.reverse();
    for end in ends {
        if let Some(host) = host_of(&s[..end]) {
            if let Some(value) = then(&s[end..]) {
                return Some((host, value));
            }
        }
    }
    None
}

fn floor_boundary(s: &str, mut at: usize) -> usize {
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Every end of a run of up to `max` options ` port N` or ` on WORD`, longest first.
/// (With `preauth`, ` [preauth]` is an option too.)
fn option_ends(s: &str, max: usize, preauth: bool, out: &mut Vec<usize>) {
    fn walk(s: &str, at: usize, left: usize, preauth: bool, out: &mut Vec<usize>) {
        if left > 0 {
            let rest = &s[at..];
            if let Some(after) = rest.strip_prefix(" port ") {
                let digits = after.bytes().take_while(u8::is_ascii_digit).count();
                for n in (1..=digits).rev() {
                    walk(s, at + 6 + n, left - 1, preauth, out);
                }
            }
            if let Some(after) = rest.strip_prefix(" on ") {
                let word = after
                    .char_indices()
                    .find(|&(_, c)| c.is_whitespace())
                    .map_or(after.len(), |(i, _)| i);
                let ends: Vec<usize> = after[..word]
                    .char_indices()
                    .map(|(i, c)| i + c.len_utf8())
                    .collect();
                for n in ends.into_iter().rev() {
                    walk(s, at + 4 + n, left - 1, preauth, out);
                }
            }
            if preauth && rest.starts_with(" [preauth]") {
                walk(s, at + 10, left - 1, preauth, out);
            }
        }
        out.push(at);
    }
    walk(s, 0, max, preauth, out);
}

/// ` port N` / ` on WORD`, up to twice, then `then` on the rest (longest first).
pub fn port_opts_then<T>(s: &str, mut then: impl FnMut(&str) -> Option<T>) -> Option<T> {
    let mut ends = Vec::new();
    option_ends(s, 2, false, &mut ends);
    ends.into_iter().find_map(|end| then(&s[end..]))
}

/// Whether `s` is the end of a message: up to three ` port N` / ` on WORD` /
/// ` [preauth]` and white space only.
pub fn is_suffix_end(s: &str) -> bool {
    let mut ends = Vec::new();
    option_ends(s, 3, true, &mut ends);
    ends.into_iter().any(|end| s[end..].trim().is_empty())
}

/// An optional ` ssh`, ` ssh1`, ` ssh2` (protocol marker) before `then`.
pub fn ssh_opt_then<T>(s: &str, mut then: impl FnMut(&str) -> Option<T>) -> Option<T> {
    if let Some(after) = s.strip_prefix(" ssh") {
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        for n in (0..=digits).rev() {
            if let Some(value) = then(&after[n..]) {
                return Some(value);
            }
        }
    }
    then(s)
}

/// The first white-space-free token of `s` (maybe empty).
pub fn token(s: &str) -> &str {
    let end = s
        .char_indices()
        .find(|&(_, c)| c.is_whitespace())
        .map_or(s.len(), |(i, _)| i);
    &s[..end]
}

/// Byte offsets of every occurrence of `needle` in `s`, in order.
pub fn occurrences<'a>(s: &'a str, needle: &'a str) -> impl Iterator<Item = usize> + 'a {
    s.match_indices(needle).map(|(i, _)| i)
}

/// `\w+` words separated by single spaces at the start of `s`: the offset after each
/// of the first `max` words.
pub fn word_ends(s: &str, max: usize) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut at = 0;
    while ends.len() < max {
        let len = s[at..]
            .char_indices()
            .find(|&(_, c)| !is_word(c))
            .map_or(s.len() - at, |(i, _)| i);
        if len == 0 {
            break;
        }
        at += len;
        ends.push(at);
        if !s[at..].starts_with(' ') {
            break;
        }
        at += 1;
    }
    ends
}

/// Whether `c` is a word character (`\w`).
pub fn word_char(c: char) -> bool {
    is_word(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(s: &str) -> Option<Host> {
        host_then(s, |rest| rest.is_empty().then_some(())).map(|(h, _)| h)
    }

    #[test]
    fn hosts_of_every_family() {
        assert_eq!(host("192.0.2.1"), Some(Host::V4("192.0.2.1".into())));
        assert_eq!(host("192.030.0.6"), Some(Host::V4("192.030.0.6".into())));
        assert_eq!(host("::ffff:1.2.3.4"), Some(Host::V4("1.2.3.4".into())));
        assert_eq!(host("[2001:db8::1]"), Some(Host::V6("2001:db8::1".into())));
        assert_eq!(
            host("aaaa:bbbb:cccc:1234::1:1"),
            Some(Host::V6("aaaa:bbbb:cccc:1234::1:1".into()))
        );
        assert_eq!(host("example.com"), Some(Host::Dns("example.com".into())));
        assert_eq!(host("bad-"), None);
        assert_eq!(host(""), None);
    }

    #[test]
    fn host_backtracks_to_let_the_rest_match() {
        let got = host_then("10.0.0.1: 3: x", |rest| {
            rest.starts_with(": 3:").then_some(())
        });
        assert_eq!(got.map(|(h, _)| h), Some(Host::V4("10.0.0.1".into())));
    }

    #[test]
    fn suffixes_and_options() {
        assert!(is_suffix_end(" port 22 [preauth]"));
        assert!(is_suffix_end(" on 10.0.0.1 port 22  "));
        assert!(is_suffix_end(""));
        assert!(!is_suffix_end(" port 22 extra"));
        assert_eq!(
            port_opts_then(" port 22: x", |r| r.strip_prefix(": ").map(str::len)),
            Some(1)
        );
        assert_eq!(
            ssh_opt_then(" ssh2: y", |r| r.strip_prefix(": ").map(str::len)),
            Some(1)
        );
        assert_eq!(word_ends("key exchange method found", 3), vec![3, 12, 19]);
    }
}
