//! Tokens and variable masking.
//!
//! A line is split on ASCII whitespace. Inside each token, every maximal run of
//! alphanumeric characters that holds a digit (a number, a hex id, a piece of an IP,
//! UUID, date, time, version or path) becomes `<*>`; a `-` right before such a run, at
//! the start or after punctuation, is its sign; wildcards separated only by glue punctuation (`.:-/_@+#,`) fold into one,
//! so `10.251.73.220:50010`, `2016-09-28`, `04:30:30.455` and
//! `38101a0b-2096-447d-96ea-a692162415ae` all become `<*>`, `blk_-695…` becomes `blk_<*>`
//! and `[19939]:` becomes `[<*>]:`. Month and weekday names (`Jun`, `Sun`) are masked
//! too: they are the non-numeric part of the timestamps in line headers. A token with two
//! `/` or two `\` or more (a path, a URL) is one variable. A `[...]` block spanning up to
//! eight words (`[req-1 user project - - -]`) is one token, so a context block with more
//! or fewer words does not change the token count; a lone `-` (the empty value of most
//! formats) is a variable.
//!
//! What it misses: variables without a digit (user names, words, hex without a digit)
//! stay constant tokens; the parse tree merges them when the rest of the line agrees.

/// The wildcard of a template.
pub const WILDCARD: &str = "<*>";

/// Punctuation that glues the parts of one value (`10.0.0.1:80`, `2016-09-28T04:30`,
/// `07:00:01,123`, `10.0.0.1,10.0.0.2`).
fn is_glue(byte: u8) -> bool {
    matches!(
        byte,
        b'.' | b':' | b'-' | b'/' | b'_' | b'@' | b'+' | b'#' | b','
    )
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric()
}

const TIME_WORDS: [&str; 19] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Mon",
    "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
];

/// Masks one token into `out` (the token itself when nothing in it is a variable).
pub fn mask_token(token: &str, out: &mut String) {
    out.clear();
    // `-`: the empty value of most log formats.
    if token == "-" {
        out.push_str(WILDCARD);
        return;
    }
    if is_path(token) {
        out.push_str(WILDCARD);
        return;
    }
    if !token.bytes().any(|b| b.is_ascii_digit()) && !TIME_WORDS.iter().any(|w| token.contains(w)) {
        out.push_str(token);
        return;
    }
    // Pieces: words (alphanumeric runs) and punctuation runs, words with a digit masked.
    let mut pending_glue = String::new();
    let mut last_wild = false;
    let mut chars = token.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if is_word(c) {
            let mut end = start + c.len_utf8();
            let mut digit = c.is_ascii_digit();
            while let Some(&(i, next)) = chars.peek() {
                if !is_word(next) {
                    break;
                }
                digit |= next.is_ascii_digit();
                end = i + next.len_utf8();
                chars.next();
            }
            if digit || TIME_WORDS.contains(&&token[start..end]) {
                // A sign (a `-` after punctuation or at the start) belongs to the number.
                if pending_glue.ends_with('-') && (pending_glue.len() > 1 || out.is_empty()) {
                    pending_glue.pop();
                }
                if last_wild && pending_glue.bytes().all(is_glue) {
                    pending_glue.clear();
                } else {
                    out.push_str(&pending_glue);
                    pending_glue.clear();
                    out.push_str(WILDCARD);
                }
                last_wild = true;
            } else {
                out.push_str(&pending_glue);
                pending_glue.clear();
                out.push_str(&token[start..end]);
                last_wild = false;
            }
        } else {
            pending_glue.push(c);
        }
    }
    out.push_str(&pending_glue);
}

/// A file path or URL: two separators or more (`/var/log/x`, `C:\\Windows\\x`).
fn is_path(token: &str) -> bool {
    token.bytes().filter(|&b| b == b'/').count() >= 2
        || token.bytes().filter(|&b| b == b'\\').count() >= 2
}

/// Splits a line into masked tokens (at most `max_tokens`: the rest fold into one
/// final `<*>`).
pub fn tokens(line: &str, max_tokens: usize, out: &mut Vec<String>) {
    out.clear();
    let mut scratch = String::new();
    let words: Vec<&str> = line.split_ascii_whitespace().collect();
    let mut i = 0;
    while i < words.len() {
        if out.len() + 1 >= max_tokens {
            out.push(WILDCARD.to_string());
            break;
        }
        let end = bracket_end(&words, i);
        let mut token = String::new();
        for (k, word) in words[i..=end].iter().enumerate() {
            if k > 0 {
                token.push(' ');
            }
            mask_token(word, &mut scratch);
            token.push_str(&scratch);
        }
        out.push(token);
        i = end + 1;
    }
}

/// Words in `[...]` spanning several words are one token (a context block such as
/// `[req-1 user project - - -]`): the index of the word closing the block opened at
/// `start`, or `start`.
fn bracket_end(words: &[&str], start: usize) -> usize {
    let first = words[start];
    if !first.starts_with('[') || first.contains(']') {
        return start;
    }
    for (offset, word) in words[start + 1..].iter().take(MAX_BLOCK_WORDS).enumerate() {
        if word.contains('[') {
            return start;
        }
        if word.ends_with(']') {
            return start + 1 + offset;
        }
    }
    start
}

/// Words a `[...]` block joins at most.
const MAX_BLOCK_WORDS: usize = 8;

/// Whether a masked token holds a variable.
pub fn has_wildcard(token: &str) -> bool {
    token.contains(WILDCARD)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(token: &str) -> String {
        let mut out = String::new();
        mask_token(token, &mut out);
        out
    }

    #[test]
    fn values_fold_into_one_wildcard() {
        assert_eq!(mask("10.251.73.220:50010"), "<*>");
        assert_eq!(mask("2016-09-28"), "<*>");
        assert_eq!(mask("04:30:30,"), "<*>,");
        assert_eq!(mask("07:00:01,123"), "<*>");
        assert_eq!(mask("38101a0b-2096-447d-96ea-a692162415ae"), "<*>");
        assert_eq!(mask("req-38101a0b-2096-447d-96ea-a692162415ae"), "req-<*>");
        assert_eq!(mask("blk_-6952295868487656571"), "blk_<*>");
        assert_eq!(mask("blk_38865049064139660"), "blk_<*>");
        assert_eq!(mask("sshd(pam_unix)[19939]:"), "sshd(pam_unix)[<*>]:");
        assert_eq!(mask("0x7fed806eb5d"), "<*>");
        assert_eq!(mask("Jun"), "<*>");
        assert_eq!(mask("[Sun"), "[<*>");
        assert_eq!(mask("Sunday"), "Sunday");
        assert_eq!(mask("terminating"), "terminating");
        assert_eq!(mask("uid=0"), "uid=<*>");
        assert_eq!(mask("-"), "<*>");
        assert_eq!(mask("-12785"), "<*>");
        assert_eq!(mask("calvisitor-10-105-160-95"), "calvisitor-<*>");
        assert_eq!(mask("--"), "--");
    }

    #[test]
    fn paths_and_bracket_blocks_are_one_token() {
        assert_eq!(mask("/var/www/html/"), "<*>");
        assert_eq!(mask("HTTP/1.1"), "HTTP/<*>");
        let mut out = Vec::new();
        tokens("x [req-1a2b u p - - -] GET [-] [a [b c]", 64, &mut out);
        assert_eq!(
            out,
            ["x", "[req-<*> u p <*> <*> -]", "GET", "[-]", "[a", "[b c]"]
        );
    }

    #[test]
    fn long_lines_fold_their_tail() {
        let mut out = Vec::new();
        tokens("a b c d e f", 4, &mut out);
        assert_eq!(out, ["a", "b", "c", "<*>"]);
        tokens("  a\tb  ", 4, &mut out);
        assert_eq!(out, ["a", "b"]);
    }
}
