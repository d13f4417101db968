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
    Ok(Listen {
        max_connections: limits.max_connections,
        header_read_timeout: limits.header_read_timeout,
        idle_timeout: limits.idle_timeout,
        body_read_timeout: limits.body_read_timeout,
        tls,
    })
}
