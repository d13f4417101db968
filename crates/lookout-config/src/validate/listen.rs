//! `[server]`'s connection limits and `[server.tls]`.

use std::path::PathBuf;
use std::time::Duration;

use serde_spanned::Spanned;

use super::Checker;
use crate::defaults;
use crate::error::ErrorKind;
use crate::raw::{RawServer, RawTls};
use crate::types::{ConnectionLimits, TlsConfig};

impl Checker<'_, '_, '_> {
    pub(super) fn connection_limits(&mut self, context: &str, raw: &RawServer) -> ConnectionLimits {
        let at_least = Duration::from_millis(100);
        ConnectionLimits {
            max_connections: self.integer_in(
                context,
                "max_connections",
                &raw.max_connections,
                defaults::MAX_CONNECTIONS,
                1,
                1 << 20,
            ) as usize,
            header_read_timeout: self.duration(
                context,
                "header_read_timeout",
                &raw.header_read_timeout,
                defaults::HEADER_READ_TIMEOUT,
                at_least,
            ),
            idle_timeout: self.duration(
                context,
                "idle_timeout",
                &raw.idle_timeout,
                defaults::IDLE_TIMEOUT,
                at_least,
            ),
            body_read_timeout: self.duration(
                context,
                "body_read_timeout",
                &raw.body_read_timeout,
                defaults::BODY_READ_TIMEOUT,
                at_least,
            ),
        }
    }

    pub(super) fn tls(&mut self, raw: &Option<Spanned<RawTls>>) -> Option<TlsConfig> {
        let context = "[server.tls]";
        let table = raw.as_ref()?;
        let line = self.line(table);
        let tls = table.get_ref();
        let required = |checker: &mut Self, key: &str, field: &Option<Spanned<String>>| {
            if field.is_none() {
                checker.report_line(
                    ErrorKind::MissingKey,
                    line,
                    context,
                    Some(key),
                    format!("`{key}` is required with [server.tls] (a PEM file)"),
                );
            }
            checker
                .optional_string(context, key, field)
                .map(PathBuf::from)
        };
        let cert_file = required(self, "cert_file", &tls.cert_file);
        let key_file = required(self, "key_file", &tls.key_file);
        let client_ca_file = self
            .optional_string(context, "client_ca_file", &tls.client_ca_file)
            .map(PathBuf::from);
        let reload_interval = self.duration(
            context,
            "reload_interval",
            &tls.reload_interval,
            defaults::TLS_RELOAD_INTERVAL,
            Duration::from_millis(100),
        );
        Some(TlsConfig {
            cert_file: cert_file?,
            key_file: key_file?,
            client_ca_file,
            reload_interval,
        })
    }
}
