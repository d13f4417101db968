//! A real nginx (Debian) for the end-to-end tests: a configuration of our own in a
//! temporary directory (pid file, error log, temporary paths, access logs all there), in
//! the foreground as the current user, on a loopback port.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{find_peer, ChildGuard};

/// The nginx binary, or `None` (the test is skipped; under `CI=true` it fails).
pub fn binary() -> Option<PathBuf> {
    find_peer("nginx", "nginx")
}

/// The configuration file [`start`] writes in `dir`.
pub fn conf_path(dir: &Path) -> PathBuf {
    dir.join("nginx.conf")
}

/// The command line options that name `dir`'s configuration (for `-s reopen`, say).
pub fn options(dir: &Path) -> [String; 6] {
    [
        "-p".to_string(),
        dir.display().to_string(),
        "-c".to_string(),
        conf_path(dir).display().to_string(),
        "-e".to_string(),
        dir.join("error.log").display().to_string(),
    ]
}

/// Starts nginx in `dir` with `http` as the body of its `http` block (log formats,
/// `access_log` lines, servers: their paths absolute), after the temporary paths.
pub fn start(binary: &Path, dir: &Path, http: &str) -> ChildGuard {
    let d = dir.display();
    std::fs::write(
        conf_path(dir),
        format!(
            "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 512; }}\n\
             http {{\n\
               client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;\n\
               fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
               {http}\n\
             }}\n"
        ),
    )
    .unwrap();
    let mut command = Command::new(binary);
    command.args(options(dir));
    ChildGuard::spawn("nginx", &mut command, &dir.join("nginx.out"))
}
