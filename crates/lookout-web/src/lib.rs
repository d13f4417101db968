//! lookout's web dashboard, embedded into the binary at compile time.
//!
//! The TypeScript sources live in `web/` at the root of the repository. This crate's
//! build script runs `npm ci && npm run build` there when `web/dist` is missing or older
//! than its sources, then embeds `web/dist` with `include_dir`. Building therefore needs
//! Node.js 20+ and npm; without them the build stops with a message saying so (or set
//! `LOOKOUT_WEB_DIST` to a prebuilt `dist` directory).
//!
//! The server asks [`asset`] for a path under `dist` and [`index_html`] for the page
//! every dashboard route answers with.

include!(concat!(env!("OUT_DIR"), "/dist.rs"));

/// One embedded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    pub bytes: &'static [u8],
    pub content_type: &'static str,
    /// Whether the file name carries a content hash (Vite's `assets/name-HASH.js`), so
    /// that it can be cached forever.
    pub immutable: bool,
}

/// The embedded file at `path` (relative to `dist`, no leading slash), if any.
pub fn asset(path: &str) -> Option<Asset> {
    if path.split('/').any(|part| part == ".." || part.is_empty()) {
        return None;
    }
    let file = DIST.get_file(path)?;
    Some(Asset {
        bytes: file.contents(),
        content_type: content_type(path),
        immutable: path.starts_with("assets/"),
    })
}

/// The dashboard's single page; every UI route answers with it.
pub fn index_html() -> &'static [u8] {
    DIST.get_file("index.html")
        .map(|file| file.contents())
        .expect("the build script checked that dist/index.html exists")
}

/// The MIME type of a file name, from its extension.
pub fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map(|(_, ext)| ext).unwrap_or("");
    match extension {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_page_is_embedded_and_loads_the_bundle() {
        let html = std::str::from_utf8(index_html()).unwrap();
        assert!(html.contains("<div id=\"app\""), "{html}");
        let script = html
            .split("src=\"/")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("index.html references its script");
        let asset = asset(script).expect("the referenced script is embedded");
        assert_eq!(asset.content_type, "text/javascript; charset=utf-8");
        assert!(asset.immutable);
        assert!(!asset.bytes.is_empty());
    }

    #[test]
    fn paths_outside_dist_are_refused() {
        assert_eq!(asset("../Cargo.toml"), None);
        assert_eq!(asset("assets/../index.html"), None);
        assert_eq!(asset("/index.html"), None);
        assert_eq!(asset("nope.js"), None);
    }

    #[test]
    fn content_types_follow_extensions() {
        assert_eq!(content_type("a/b.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("x.svg"), "image/svg+xml");
        assert_eq!(content_type("noext"), "application/octet-stream");
    }
}
