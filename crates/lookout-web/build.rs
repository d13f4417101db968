//! Builds the dashboard (`web/`, TypeScript + Vite) into `web/dist` when that is missing
//! or older than its sources, so that `cargo build` on a fresh machine with Node.js/npm
//! produces a binary with the UI inside. `npm ci` installs the exact versions of the
//! committed `package-lock.json`; `npm run build` type-checks and bundles.
//!
//! - No `npm` on the PATH: the build stops with a message saying to install Node.js and npm.
//! - `LOOKOUT_WEB_DIST=<dir>`: embed that prebuilt directory instead (no npm needed).
//! - `LOOKOUT_NPM=<program>`: the npm to run (default `npm`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// Inputs of the web build whose changes make `web/dist` stale.
const SOURCES: &[&str] = &[
    "src",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
];

fn main() {
    println!("cargo:rerun-if-env-changed=LOOKOUT_WEB_DIST");
    println!("cargo:rerun-if-env-changed=LOOKOUT_NPM");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    let dist = match std::env::var_os("LOOKOUT_WEB_DIST") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if !dir.join("index.html").is_file() {
                fail(&format!(
                    "LOOKOUT_WEB_DIST={} has no index.html; build the dashboard with `npm ci && npm run build` in web/ or unset LOOKOUT_WEB_DIST",
                    dir.display()
                ));
            }
            dir
        }
        None => build_web(&manifest.join("../../web")),
    };
    println!("cargo:rerun-if-changed={}", dist.display());
    // include_dir! needs a literal path: hand it over through a generated file.
    let dist = dist.canonicalize().unwrap_or(dist);
    let generated = format!(
        "/// The built dashboard.\npub static DIST: include_dir::Dir<'static> = include_dir::include_dir!({:?});\n",
        dist.display().to_string()
    );
    std::fs::write(out.join("dist.rs"), generated).expect("writing OUT_DIR/dist.rs");
}

fn build_web(web: &Path) -> PathBuf {
    let web = web.canonicalize().unwrap_or_else(|error| {
        fail(&format!(
            "the dashboard sources are missing ({}: {error})",
            web.display()
        ))
    });
    for source in SOURCES {
        println!("cargo:rerun-if-changed={}", web.join(source).display());
    }
    let dist = web.join("dist");
    let built = newest(&dist.join("index.html"));
    let sources = SOURCES
        .iter()
        .filter_map(|source| newest(&web.join(source)))
        .max();
    let fresh = matches!((built, sources), (Some(built), Some(sources)) if built >= sources);
    if fresh {
        return dist;
    }
    let npm = std::env::var("LOOKOUT_NPM").unwrap_or_else(|_| "npm".to_string());
    let installed = web.join("node_modules/.package-lock.json");
    let lock = web.join("package-lock.json");
    if newest(&installed)
        .zip(newest(&lock))
        .is_none_or(|(i, l)| i < l)
    {
        run(&npm, &["ci", "--no-audit", "--no-fund"], &web);
    }
    run(&npm, &["run", "build"], &web);
    if !dist.join("index.html").is_file() {
        fail(&format!(
            "`{npm} run build` in {} produced no dist/index.html",
            web.display()
        ));
    }
    dist
}

fn run(npm: &str, args: &[&str], dir: &Path) {
    let status = Command::new(npm).args(args).current_dir(dir).status();
    match status {
        Ok(status) if status.success() => {}
        Ok(status) => fail(&format!(
            "`{npm} {}` in {} failed ({status}); its output is above",
            args.join(" "),
            dir.display()
        )),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => fail(&format!(
            "building the dashboard needs Node.js and npm, and `{npm}` was not found on the PATH. \
             Install Node.js (20 or newer) with npm (Debian/Ubuntu: `apt-get install nodejs npm`), \
             or set LOOKOUT_WEB_DIST to a prebuilt web/dist directory"
        )),
        Err(error) => fail(&format!("could not run `{npm}`: {error}")),
    }
}

/// Newest modification time of a file or of every file under a directory.
fn newest(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| newest(&entry.path()))
        .max()
}

fn fail(message: &str) -> ! {
    eprintln!("error: lookout-web: {message}");
    println!("cargo:warning=lookout-web: {message}");
    std::process::exit(1);
}
