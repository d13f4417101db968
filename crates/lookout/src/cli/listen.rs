//! The listener's options from `[server]` and `[server.tls]`.

use anyhow::Context;
use lookout_config::Config;
use lookout_server::listen::{Listen, Tls, TlsFiles};

/// The connection limits and, with `[server.tls]`, the certificate loaded (an error
/// names the key and the file).
pub fn listen_options(config: &Config) -> anyhow::Result<Listen> {
    let limits = &config.server.connections;
    let tls = match &config.server.tls {
        None => None,
        Some(tls) => Some(
            Tls::load(TlsFiles {
                cert_file: tls.cert_file.clone(),
                key_file: tls.key_file.clone(),
                client_ca_file: tls.client_ca_file.clone(),
                reload_interval: tls.reload_interval,
            })
            .context("setting up TLS")?,
        ),
    };
    if let Some(limit) = open_files_limit() {
        if limits.max_connections as u64 + RESERVED_FILES > limit {
            eprintln!(
                "lookout: warning: [server] max_connections = {} leaves too few of the {limit} files this process may open (the store, sources and logs need some {RESERVED_FILES}): raise the limit (ulimit -n, LimitNOFILE=) or lower max_connections",
                limits.max_connections
            );
        }
    }
    Ok(Listen {
        max_connections: limits.max_connections,
        header_read_timeout: limits.header_read_timeout,
        idle_timeout: limits.idle_timeout,
        body_read_timeout: limits.body_read_timeout,
        tls,
    })
}

/// Files the process keeps open besides its connections, about.
const RESERVED_FILES: u64 = 64;

/// The soft limit on open files (Linux: `/proc/self/limits`); None when unknown or
/// unlimited.
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_files_limit(&limits)
}

fn parse_open_files_limit(limits: &str) -> Option<u64> {
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_open_files_limit_is_read() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max processes             63704                63704                processes\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(parse_open_files_limit(limits), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_open_files_limit(unlimited), None);
        assert_eq!(parse_open_files_limit(""), None);
    }

    #[test]
    fn this_process_has_a_known_open_files_limit() {
        if cfg!(target_os = "linux") {
            assert!(open_files_limit().is_some_and(|limit| limit > 0));
        }
    }
}
