//! Route templates: paths with their variable parts folded to placeholders.
//!
//! [`template`] drops the query and fragment and folds each path segment that looks
//! like data rather than a route: decimal numbers (`:id`), numbers with separators such
//! as dates and versions (`:num`), UUIDs (`:uuid`), hex strings of 8 or more characters
//! with at least one digit and one letter, or of 16 or more (`:hash`), and long tokens
//! (20 or more characters with a digit, or more than 40 of anything: `:token`). A file
//! name's stem is folded the same way with its extension kept (`/img/:id.jpg`). At most
//! [`MAX_DEPTH`] segments are kept (`/a/b/.../...`). What it misses: words that are
//! data (`/users/alice` stays as written), so the aggregator bounds the routes it keeps.
//!
//! Cost: one pass over the path into a reused buffer.

use std::fmt::Write;

/// Segments kept; deeper paths end in `/...`.
pub const MAX_DEPTH: usize = 8;
/// The route of a line without a path (`-`, garbage a client sent).
pub const INVALID_ROUTE: &str = ":invalid";
/// The route that collects templates beyond the table's limit.
pub const OTHER_ROUTE: &str = ":other";

fn is_hex(segment: &str) -> bool {
    segment.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_uuid(segment: &str) -> bool {
    let b = segment.as_bytes();
    b.len() == 36
        && [8, 13, 18, 23].iter().all(|i| b[*i] == b'-')
        && b.iter()
            .enumerate()
            .all(|(i, c)| matches!(i, 8 | 13 | 18 | 23) || c.is_ascii_hexdigit())
}

/// The placeholder a segment (or file stem) folds to, if it looks like data.
fn placeholder(segment: &str) -> Option<&'static str> {
    let bytes = segment.as_bytes();
    if bytes.is_empty() {
        return None;
    }
    let digits = bytes.iter().filter(|b| b.is_ascii_digit()).count();
    if digits == bytes.len() {
        return Some(":id");
    }
    if is_uuid(segment) {
        return Some(":uuid");
    }
    let letters = bytes.iter().filter(|b| b.is_ascii_alphabetic()).count();
    if is_hex(segment) && (bytes.len() >= 16 || (bytes.len() >= 8 && digits > 0 && letters > 0)) {
        return Some(":hash");
    }
    if digits >= 2 && letters == 0 {
        return Some(":num");
    }
    if (bytes.len() >= 20 && digits > 0) || bytes.len() > 40 {
        return Some(":token");
    }
    None
}

/// Writes the template of `path` (as logged: path and query, or an absolute URI) into
/// `out` (cleared first).
pub fn template(path: &str, out: &mut String) {
    out.clear();
    let mut path = path;
    if !path.starts_with('/') {
        if let Some((_, rest)) = path.split_once("://") {
            path = rest.find('/').map_or("/", |slash| &rest[slash..]);
        }
    }
    if !path.starts_with('/') {
        out.push_str(INVALID_ROUTE);
        return;
    }
    let end = memchr::memchr2(b'?', b'#', path.as_bytes()).unwrap_or(path.len());
    let path = &path[..end];
    if path == "/" {
        out.push('/');
        return;
    }
    for (depth, segment) in path[1..].split('/').enumerate() {
        if depth == MAX_DEPTH {
            out.push_str("/...");
            return;
        }
        out.push('/');
        if let Some(folded) = placeholder(segment) {
            out.push_str(folded);
            continue;
        }
        match segment.rsplit_once('.') {
            Some((stem, extension))
                if !stem.is_empty()
                    && (1..=5).contains(&extension.len())
                    && extension.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                match placeholder(stem) {
                    Some(folded) => {
                        let _ = write!(out, "{folded}.{extension}");
                    }
                    None => out.push_str(segment),
                }
            }
            _ => out.push_str(segment),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn of(path: &str) -> String {
        let mut out = String::new();
        template(path, &mut out);
        out
    }

    #[test]
    fn data_segments_fold_and_words_stay() {
        assert_eq!(of("/users/123/orders?page=2"), "/users/:id/orders");
        assert_eq!(
            of("/items/3f2504e0-4f89-11d3-9a0c-0305e82c3301"),
            "/items/:uuid"
        );
        assert_eq!(
            of("/blob/9fceb02d0ae598e95dc970b74767f19372d61af8"),
            "/blob/:hash"
        );
        assert_eq!(of("/c/a1b2c3d4"), "/c/:hash");
        assert_eq!(of("/reset/eyJhbGciOiJIUzI1NiJ9xyz123abc"), "/reset/:token");
        assert_eq!(of("/day/2026-12-02/v/1.2.3"), "/day/:num/v/:num");
        assert_eq!(of("/img/4711.jpg"), "/img/:id.jpg");
        assert_eq!(of("/static/app.css"), "/static/app.css");
        assert_eq!(of("/users/alice/profile"), "/users/alice/profile");
        assert_eq!(of("/v1/api"), "/v1/api");
        assert_eq!(of("/"), "/");
        assert_eq!(of("/?q=1"), "/");
        assert_eq!(of("http://example.com/a/7"), "/a/:id");
        assert_eq!(of("http://example.com"), "/");
        assert_eq!(of("-"), INVALID_ROUTE);
        assert_eq!(of("/a/b/c/d/e/f/g/h/i/j"), "/a/b/c/d/e/f/g/h/...");
        assert_eq!(of("/a//b/"), "/a//b/");
    }

    proptest! {
        #[test]
        fn templates_are_stable_bounded_and_numbers_never_survive(
            segments in proptest::collection::vec("[a-z]{1,6}|[0-9]{1,12}", 1..12)
        ) {
            let path = format!("/{}", segments.join("/"));
            let first = of(&path);
            prop_assert_eq!(of(&first), first.clone(), "a template is its own template");
            prop_assert!(first.split('/').count() <= MAX_DEPTH + 2);
            for segment in first.split('/') {
                prop_assert!(!segment.bytes().all(|b| b.is_ascii_digit()) || segment.is_empty());
            }
        }
    }
}
