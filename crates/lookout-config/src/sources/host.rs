//! `[[source]] type = "host"`: this machine's CPU, memory, disks, network and load.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::SourceType;
use crate::defaults;
use crate::raw::{Field, StringMap};
use crate::types::NameFilter;
use crate::validate::Checker;

/// The `host` source type, for the registration list.
pub(crate) struct Host;

impl SourceType for Host {
    type Raw = RawHostSource;
    type Config = HostSourceConfig;

    fn validate(
        raw: &RawHostSource,
        checker: &mut Checker<'_, '_, '_>,
        context: &str,
        _line: usize,
    ) -> HostSourceConfig {
        validate_host(checker, context, raw)
    }

    fn interval(config: &HostSourceConfig) -> Duration {
        config.interval
    }
}

/// `[[source]] type = "host"`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHostSource {
    #[serde(rename = "type")]
    pub kind: Field<String>,
    pub interval: Field<String>,
    pub hostname: Field<String>,
    pub per_cpu: Field<bool>,
    pub mounts_include: Field<Vec<String>>,
    pub mounts_exclude: Field<Vec<String>>,
    pub devices_include: Field<Vec<String>>,
    pub devices_exclude: Field<Vec<String>>,
    pub interfaces_include: Field<Vec<String>>,
    pub interfaces_exclude: Field<Vec<String>>,
    pub labels: Field<StringMap>,
}

/// `[[source]] type = "host"`: this machine's CPU, memory, disks, network and load.
#[derive(Debug, Clone, PartialEq)]
pub struct HostSourceConfig {
    pub interval: Duration,
    /// The `host` label; `None` means the machine's hostname.
    pub hostname: Option<String>,
    /// Whether to emit one CPU series per core besides the total.
    pub per_cpu: bool,
    /// Mount points to report disk usage for.
    pub mounts: NameFilter,
    /// Block devices to report disk IO for.
    pub devices: NameFilter,
    /// Network interfaces to report traffic for.
    pub interfaces: NameFilter,
    /// Extra labels on every series of this source.
    pub labels: BTreeMap<String, String>,
}

fn validate_host(
    checker: &mut Checker<'_, '_, '_>,
    context: &str,
    raw: &RawHostSource,
) -> HostSourceConfig {
    let mut filter = |include: (&str, &Field<Vec<String>>),
                      exclude: (&str, &Field<Vec<String>>),
                      default: &[&str]| {
        NameFilter::new(
            checker.string_list(context, include.0, include.1, &[]),
            checker.string_list(context, exclude.0, exclude.1, default),
        )
    };
    let mounts = filter(
        ("mounts_include", &raw.mounts_include),
        ("mounts_exclude", &raw.mounts_exclude),
        &[],
    );
    let devices = filter(
        ("devices_include", &raw.devices_include),
        ("devices_exclude", &raw.devices_exclude),
        defaults::HOST_DEVICES_EXCLUDE,
    );
    let interfaces = filter(
        ("interfaces_include", &raw.interfaces_include),
        ("interfaces_exclude", &raw.interfaces_exclude),
        defaults::HOST_INTERFACES_EXCLUDE,
    );
    HostSourceConfig {
        interval: checker.positive_duration(
            context,
            "interval",
            &raw.interval,
            defaults::HOST_INTERVAL,
        ),
        hostname: checker.optional_string(context, "hostname", &raw.hostname),
        per_cpu: raw
            .per_cpu
            .as_ref()
            .map(|flag| *flag.get_ref())
            .unwrap_or(true),
        mounts,
        devices,
        interfaces,
        labels: checker.labels(context, "labels", &raw.labels),
    }
}
