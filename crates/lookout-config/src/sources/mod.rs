//! `[[source]]` tables: one module per source type, registered in one list.
//!
//! Each source type owns its configuration: the raw spanned table it is read into (a
//! `Raw…` struct whose field list is also its list of accepted keys), the validated
//! typed configuration, its defaults, and the validation between them, every mistake
//! reported with its line through the shared validation helpers. The [`source_types!`] list at
//! the bottom of this file is the only place that knows them all: it generates
//! [`RawSource`], [`SourceConfig`], [`SOURCE_TYPES`] (the list an unknown `type` is
//! answered with), the reader's dispatch and the key listing of [`crate::known_keys`].
//!
//! Adding a source type is one module here (implementing `SourceType`) plus one line
//! in that list. The list also generates [`with_source_config!`], through which
//! `lookout-sources` builds every type without a list of its own: the new type's
//! configuration then needs its `BuildSource` impl there, which the compiler asks for.
//!
//! Cost: reading a table deserialises each key once alone and once together (see
//! [`crate::reader`]); nothing here runs after the configuration is loaded.

pub mod access_log;
pub mod auth_log;
pub mod cloudwatch;
pub mod file;
pub mod host;
pub mod kafka;
pub mod log;
pub mod packet_capture;
pub mod prometheus_scrape;

use std::fmt::Debug;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::reader::{read_table, Node, Reporter};
use crate::validate::Checker;

/// One source type's configuration: how its table is read and validated.
pub(crate) trait SourceType {
    /// The table as written: every key optional and spanned; its fields are the keys
    /// the type accepts (`deny_unknown_fields`).
    type Raw: DeserializeOwned + Default + Debug;
    /// The validated configuration the source is built from.
    type Config: Debug + Clone + PartialEq;

    /// Checks every key of `raw` (the table of `[[source]] #n`, written at `line`),
    /// reporting each mistake through `checker` and keeping the default of a bad key.
    fn validate(
        raw: &Self::Raw,
        checker: &mut Checker<'_, '_, '_>,
        context: &str,
        line: usize,
    ) -> Self::Config;

    /// How often the source collects.
    fn interval(config: &Self::Config) -> Duration;
}

/// Generates the per-type enums and dispatch from the registration list.
/// `$d` is a literal `$` passed in by the invocation, so that the generated
/// [`with_source_config!`] can declare metavariables of its own.
macro_rules! source_types {
    ($d:tt; $($name:literal => $variant:ident($kind:ty, $raw:ty => $config:ty)),* $(,)?) => {
        /// Runs `$body` with `$binding` bound to the typed configuration inside a
        /// [`SourceConfig`], whatever its type: `with_source_config!(config, typed =>
        /// typed.build())`. Crates that act on every source type (building them, say)
        /// use it with a trait the typed configurations implement, so they need no list
        /// of their own: the compiler asks for the trait's impl when a type is added.
        #[macro_export]
        macro_rules! with_source_config {
            ($d value:expr, $d binding:ident => $d body:expr) => {
                match $d value {
                    $($crate::SourceConfig::$variant($d binding) => $d body,)*
                }
            };
        }

        /// One `[[source]]` table, read into the raw struct its `type` selects.
        #[derive(Debug)]
        pub enum RawSource {
            $($variant($raw),)*
        }

        /// One validated `[[source]]`.
        #[derive(Debug, Clone, PartialEq)]
        pub enum SourceConfig {
            $($variant($config),)*
        }

        /// The known `[[source]]` types, in the order error messages list them.
        pub const SOURCE_TYPES: &[&str] = &[$($name),*];

        impl SourceConfig {
            /// The `type` key of this source.
            pub fn kind(&self) -> &'static str {
                match self {
                    $(SourceConfig::$variant(_) => $name,)*
                }
            }

            /// How often the source collects.
            pub fn interval(&self) -> Duration {
                match self {
                    $(SourceConfig::$variant(config) => <$kind as SourceType>::interval(config),)*
                }
            }
        }

        /// Reads a table of type `kind`; `None` when no source type has that name.
        pub(crate) fn read(
            kind: &str,
            reporter: &mut Reporter<'_>,
            context: &str,
            node: &Node<'_>,
        ) -> Option<RawSource> {
            match kind {
                $($name => Some(RawSource::$variant(read_table(reporter, context, node, &[]))),)*
                _ => None,
            }
        }

        /// Validates a table read by [`read`].
        pub(crate) fn validate(
            raw: &RawSource,
            checker: &mut Checker<'_, '_, '_>,
            context: &str,
            line: usize,
        ) -> SourceConfig {
            match raw {
                $(RawSource::$variant(raw) => SourceConfig::$variant(
                    <$kind as SourceType>::validate(raw, checker, context, line),
                ),)*
            }
        }

        /// Each source type's section title and accepted keys.
        pub(crate) fn keys() -> Vec<(&'static str, &'static [&'static str])> {
            vec![$((
                concat!("[[source]] type = \"", $name, "\""),
                crate::keys::struct_fields::<$raw>(),
            ),)*]
        }
    };
}

source_types! {
    $;
    "host" => Host(host::Host, host::RawHostSource => host::HostSourceConfig),
    "cloudwatch" => CloudWatch(
        cloudwatch::CloudWatch,
        cloudwatch::RawCloudWatchSource => cloudwatch::CloudWatchSourceConfig
    ),
    "prometheus_scrape" => PrometheusScrape(
        prometheus_scrape::PrometheusScrape,
        prometheus_scrape::RawPrometheusScrapeSource => prometheus_scrape::PrometheusScrapeConfig
    ),
    "file" => File(file::File, file::RawFileSource => file::FileSourceConfig),
    "auth_log" => AuthLog(
        auth_log::AuthLog,
        auth_log::RawAuthLogSource => auth_log::AuthLogSourceConfig
    ),
    "access_log" => AccessLog(
        access_log::AccessLog,
        access_log::RawAccessLogSource => access_log::AccessLogSourceConfig
    ),
    "log" => Log(log::Log, log::RawLogSource => log::LogSourceConfig),
    "kafka" => Kafka(kafka::Kafka, kafka::RawKafkaSource => kafka::KafkaSourceConfig),
    "packet_capture" => PacketCapture(
        packet_capture::PacketCapture,
        packet_capture::RawPacketCaptureSource => packet_capture::PacketCaptureConfig
    ),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_type_lists_its_keys_with_type_first_class() {
        let keys = keys();
        assert_eq!(keys.len(), SOURCE_TYPES.len());
        for ((section, fields), name) in keys.iter().zip(SOURCE_TYPES) {
            assert!(section.contains(&format!("\"{name}\"")), "{section}");
            assert!(fields.contains(&"type"), "{section}: {fields:?}");
        }
    }
}
