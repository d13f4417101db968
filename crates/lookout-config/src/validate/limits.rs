//! `[server]`'s caps on one request's work and the budgets shared by requests in
//! flight: `max_matchers`, `max_series_visited`, `max_query_samples_total`,
//! `max_inflight_body_bytes`, `max_inflight_body_bytes_per_client`.

use super::Checker;
use crate::defaults;
use crate::raw::RawServer;
use crate::types::RequestLimits;
use crate::values::parse_byte_size;

impl Checker<'_, '_, '_> {
    pub(super) fn request_limits(&mut self, context: &str, raw: &RawServer) -> RequestLimits {
        // `max_body_bytes` as set (its own errors are reported where it is checked).
        let max_body_bytes = raw
            .max_body_bytes
            .as_ref()
            .and_then(|value| parse_byte_size(value.get_ref()).ok())
            .unwrap_or(defaults::MAX_BODY_BYTES);
        let max_inflight_body_bytes = self.value(
            context,
            "max_inflight_body_bytes",
            &raw.max_inflight_body_bytes,
            defaults::MAX_INFLIGHT_BODY_BYTES,
            |v| match parse_byte_size(v)? {
                bytes if bytes < 64 << 10 => Err(format!(
                    "{bytes} bytes is less than 64KiB: every request body reserves up to \
                     64KiB as it starts"
                )),
                bytes if bytes < max_body_bytes => Err(format!(
                    "{bytes} bytes is less than max_body_bytes ({max_body_bytes} bytes): a \
                     body that large could never be received"
                )),
                bytes if bytes > 1 << 40 => {
                    Err(format!("{bytes} bytes is more than the ceiling of 1TiB"))
                }
                bytes => Ok(bytes),
            },
        );
        let max_inflight_body_bytes_per_client = self.value(
            context,
            "max_inflight_body_bytes_per_client",
            &raw.max_inflight_body_bytes_per_client,
            (max_inflight_body_bytes / 4).clamp(
                max_body_bytes.min(max_inflight_body_bytes),
                max_inflight_body_bytes,
            ),
            |v| match parse_byte_size(v)? {
                bytes if bytes < max_body_bytes => Err(format!(
                    "{bytes} bytes is less than max_body_bytes ({max_body_bytes} bytes): a \
                     client could never send a body that large"
                )),
                bytes if bytes > max_inflight_body_bytes => Err(format!(
                    "{bytes} bytes is more than max_inflight_body_bytes \
                     ({max_inflight_body_bytes} bytes), the budget it is a share of"
                )),
                bytes => Ok(bytes),
            },
        );
        RequestLimits {
            max_matchers: self.integer_in(
                context,
                "max_matchers",
                &raw.max_matchers,
                defaults::MAX_MATCHERS,
                1,
                100_000,
            ) as usize,
            max_series_visited: self.integer_in(
                context,
                "max_series_visited",
                &raw.max_series_visited,
                defaults::MAX_SERIES_VISITED,
                1,
                1 << 40,
            ),
            max_query_samples_total: self.integer_in(
                context,
                "max_query_samples_total",
                &raw.max_query_samples_total,
                defaults::MAX_QUERY_SAMPLES_TOTAL,
                1,
                1 << 42,
            ),
            max_inflight_body_bytes,
            max_inflight_body_bytes_per_client,
        }
    }
}
