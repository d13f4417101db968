//! `[[source]] type = "access_log"`: follows web-server access logs (combined, common,
//! JSON or an nginx `log_format`) and derives request series from them.
//!
//! The format is compiled here, so a format that cannot be compiled, or a
//! `client_field`/`vhost_field` the format does not have, is reported with its line
//! like any other mistake.

use std::collections::BTreeMap;
use std::time::Duration;

use lookout_accesslog::{
    AggregatorConfig, InjectionConfig, JsonFields, LogFormat, Parser, ParserConfig,
};
use serde::Deserialize;

use super::file::{
    paths_of, read_from_of, ReadFrom, FILE_MAX_LINE_BYTES, FILE_MAX_LINE_BYTES_LIMIT,
};
use super::SourceType;
use crate::raw::{Field, StringMap};
use crate::validate::Checker;
use crate::values::parse_byte_size;

/// How long one interval of derived series lasts.
pub const ACCESS_LOG_INTERVAL: Duration = Duration::from_secs(5);
/// How often the files are read (at most the interval).
pub const ACCESS_LOG_POLL: Duration = Duration::from_secs(1);

/// The `access_log` source type, for the registration list.
pub(crate) struct AccessLog;

impl SourceType for AccessLog {
    type Raw = RawAccessLogSource;
    type Config = AccessLogSourceConfig;

    fn validate(
        raw: &RawAccessLogSource,
        checker: &mut Checker<'_, '_, '_>,
        context: &str,
        line: usize,
    ) -> AccessLogSourceConfig {
        validate_access_log(checker, context, line, raw)
    }

    fn interval(config: &AccessLogSourceConfig) -> Duration {
        config.poll
    }
}

/// `[[source]] type = "access_log"`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccessLogSource {
    #[serde(rename = "type")]
    pub kind: Field<String>,
    /// A path or a list of paths; each may be a glob (`/var/log/nginx/*access.log`).
    pub path: Field<toml::Value>,
    /// `combined` (default), `common`, `json` or an nginx `log_format` string.
    pub format: Field<String>,
    pub read_from: Field<String>,
    /// The length of one interval of derived series.
    pub interval: Field<String>,
    pub max_line_bytes: Field<toml::Value>,
    /// The format variable naming the client (default `remote_addr`).
    pub client_field: Field<String>,
    /// The format variable naming the virtual host (default `host`, `server_name` or
    /// `http_host`, whichever the format has).
    pub vhost_field: Field<String>,
    /// For `format = "json"`: the field name of each role (`status = "code"`, ...).
    pub json_fields: Field<StringMap>,
    pub max_routes: Field<i64>,
    pub max_vhosts: Field<i64>,
    pub top_clients: Field<i64>,
    pub labels: Field<StringMap>,
    /// Check every request line for injection attempts (default true).
    pub injection: Field<bool>,
    /// A client quiet this long has its injection incident closed.
    pub injection_window: Field<String>,
    /// An injection incident this old is closed (and the next attack opens another).
    pub injection_max_duration: Field<String>,
    /// Injection incidents open at once.
    pub injection_max_clients: Field<i64>,
}

/// `[[source]] type = "access_log"`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessLogSourceConfig {
    pub paths: Vec<String>,
    pub read_from: ReadFrom,
    pub max_line_bytes: u64,
    /// How often the files are read.
    pub poll: Duration,
    /// The parser: format, client and vhost fields (checked to compile).
    pub parser: ParserConfig,
    /// The aggregation: interval and cardinality bounds.
    pub aggregator: AggregatorConfig,
    /// Labels added to every derived series (and to the injection events' entity).
    pub labels: BTreeMap<String, String>,
    /// The content-injection check of each request line.
    pub injection: InjectionConfig,
}

/// The JSON roles and where [`JsonFields`] keeps each.
const JSON_ROLES: &[&str] = &[
    "time",
    "client",
    "request",
    "method",
    "path",
    "status",
    "bytes",
    "request_time",
    "upstream_time",
    "vhost",
];

fn json_fields_of(names: &StringMap) -> Result<JsonFields, String> {
    let mut fields = JsonFields::default();
    for (role, name) in names {
        if name.trim().is_empty() {
            return Err(format!("the field name of {role:?} is empty"));
        }
        let slot = match role.as_str() {
            "time" => &mut fields.time,
            "client" => &mut fields.client,
            "request" => &mut fields.request,
            "method" => &mut fields.method,
            "path" => &mut fields.path,
            "status" => &mut fields.status,
            "bytes" => &mut fields.bytes,
            "request_time" => &mut fields.request_time,
            "upstream_time" => &mut fields.upstream_time,
            "vhost" => &mut fields.vhost,
            other => {
                return Err(format!(
                    "unknown role {other:?} (known: {})",
                    JSON_ROLES.join(", ")
                ))
            }
        };
        *slot = name.clone();
    }
    Ok(fields)
}

fn count(
    checker: &mut Checker<'_, '_, '_>,
    context: &str,
    key: &str,
    field: &Field<i64>,
    default: usize,
    max: u64,
) -> usize {
    checker.integer_in(context, key, field, default as u64, 1, max) as usize
}

fn validate_access_log(
    checker: &mut Checker<'_, '_, '_>,
    context: &str,
    line: usize,
    raw: &RawAccessLogSource,
) -> AccessLogSourceConfig {
    let paths = match &raw.path {
        None => {
            let message =
                "missing required key (e.g. path = \"/var/log/nginx/access.log\")".to_string();
            checker.report_line(
                crate::ErrorKind::MissingKey,
                line,
                context,
                Some("path"),
                message,
            );
            Vec::new()
        }
        Some(_) => checker.value(context, "path", &raw.path, Vec::new(), paths_of),
    };
    let mut format = checker.value(
        context,
        "format",
        &raw.format,
        LogFormat::Combined,
        |name| LogFormat::from_name(name).map_err(|error| error.to_string()),
    );
    let json_fields = checker.value(context, "json_fields", &raw.json_fields, None, |names| {
        json_fields_of(names).map(Some)
    });
    match (&mut format, json_fields) {
        (LogFormat::Json(fields), Some(configured)) => **fields = configured,
        (_, Some(_)) => {
            let message = "json_fields applies to format = \"json\" only".to_string();
            let field = raw.json_fields.as_ref().expect("present");
            checker.report_at(
                crate::ErrorKind::InvalidValue,
                context,
                "json_fields",
                field,
                message,
            );
        }
        _ => {}
    }
    let parser = ParserConfig {
        format,
        client_field: checker.optional_string(context, "client_field", &raw.client_field),
        vhost_field: checker.optional_string(context, "vhost_field", &raw.vhost_field),
    };
    if let Err(error) = Parser::new(&parser) {
        // Name the key the problem comes from: a field key if it names one, the format
        // otherwise.
        let message = error.to_string();
        let (key, field) = match &error {
            lookout_accesslog::FormatError::UnknownField { role: "client", .. } => {
                ("client_field", raw.client_field.as_ref().map(|f| f.span()))
            }
            lookout_accesslog::FormatError::UnknownField { .. } => {
                ("vhost_field", raw.vhost_field.as_ref().map(|f| f.span()))
            }
            _ => ("format", raw.format.as_ref().map(|f| f.span())),
        };
        let at = field.map_or(line, |span| checker.reporter.line_of(span.start));
        checker.report_line(
            crate::ErrorKind::InvalidValue,
            at,
            context,
            Some(key),
            message,
        );
    }
    let read_from = checker.value(
        context,
        "read_from",
        &raw.read_from,
        ReadFrom::End,
        |name: &String| read_from_of(name),
    );
    let max_line_bytes = checker.value(
        context,
        "max_line_bytes",
        &raw.max_line_bytes,
        FILE_MAX_LINE_BYTES,
        |value| match parse_byte_size(value)? {
            bytes if (2..=FILE_MAX_LINE_BYTES_LIMIT).contains(&bytes) => Ok(bytes),
            bytes => Err(format!(
                "{bytes} bytes is out of range (from 2 bytes to {FILE_MAX_LINE_BYTES_LIMIT})"
            )),
        },
    );
    let interval = checker.duration(
        context,
        "interval",
        &raw.interval,
        ACCESS_LOG_INTERVAL,
        Duration::from_secs(1),
    );
    let defaults = AggregatorConfig::default();
    let interval_ms = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
    let aggregator = AggregatorConfig {
        interval_ms,
        grace_ms: interval_ms.min(defaults.grace_ms),
        max_routes: count(
            checker,
            context,
            "max_routes",
            &raw.max_routes,
            defaults.max_routes,
            10_000,
        ),
        max_vhosts: count(
            checker,
            context,
            "max_vhosts",
            &raw.max_vhosts,
            defaults.max_vhosts,
            1_000,
        ),
        top_clients: count(
            checker,
            context,
            "top_clients",
            &raw.top_clients,
            defaults.top_clients,
            100,
        ),
        ..defaults
    };
    AccessLogSourceConfig {
        paths,
        read_from,
        max_line_bytes,
        poll: interval.min(ACCESS_LOG_POLL),
        parser,
        aggregator,
        labels: checker.labels(context, "labels", &raw.labels),
        injection: injection_of(checker, context, raw),
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn injection_of(
    checker: &mut Checker<'_, '_, '_>,
    context: &str,
    raw: &RawAccessLogSource,
) -> InjectionConfig {
    let defaults = InjectionConfig::default();
    let window = checker.duration(
        context,
        "injection_window",
        &raw.injection_window,
        Duration::from_millis(defaults.incidents.window_ms as u64),
        Duration::from_secs(1),
    );
    let max_duration = checker.duration(
        context,
        "injection_max_duration",
        &raw.injection_max_duration,
        Duration::from_millis(defaults.incidents.max_duration_ms as u64),
        Duration::from_secs(1),
    );
    let max_clients = count(
        checker,
        context,
        "injection_max_clients",
        &raw.injection_max_clients,
        defaults.incidents.max_clients,
        1_000_000,
    );
    InjectionConfig {
        enabled: raw.injection.as_ref().is_none_or(|v| *v.get_ref()),
        incidents: lookout_accesslog::injection::IncidentConfig {
            window_ms: millis(window),
            max_duration_ms: millis(max_duration),
            max_clients,
        },
    }
}

#[cfg(test)]
mod tests {
    use crate::{Config, SourceConfig};

    fn load(text: &str) -> Result<Config, String> {
        Config::from_str_named(text, "t.toml").map_err(|errors| errors.to_string())
    }

    #[test]
    fn defaults_and_a_custom_format() {
        let config = load(
            "[[source]]\ntype = \"access_log\"\npath = \"/var/log/nginx/*.log\"\n\
             format = '$remote_addr [$time_local] \"$request\" $status $body_bytes_sent $request_time'\n\
             interval = \"10s\"\nmax_routes = 50\n",
        )
        .unwrap();
        let SourceConfig::AccessLog(source) = &config.sources[0] else {
            panic!("{:?}", config.sources[0]);
        };
        assert_eq!(source.paths, ["/var/log/nginx/*.log"]);
        assert_eq!(source.aggregator.interval_ms, 10_000);
        assert_eq!(source.aggregator.max_routes, 50);
        assert!(matches!(
            source.parser.format,
            lookout_accesslog::LogFormat::Nginx(_)
        ));
    }

    #[test]
    fn the_injection_check_is_on_by_default_and_configurable() {
        let source = |text: &str| {
            let config = load(&format!(
                "[[source]]\ntype = \"access_log\"\npath = \"a.log\"\n{text}"
            ))?;
            let SourceConfig::AccessLog(source) = &config.sources[0] else {
                panic!();
            };
            Ok::<_, String>(source.injection)
        };
        let default = source("").unwrap();
        assert!(default.enabled);
        assert_eq!(default.incidents.window_ms, 600_000);
        let custom = source(
            "injection = false\ninjection_window = \"2m\"\n\
             injection_max_duration = \"30m\"\ninjection_max_clients = 500\n",
        )
        .unwrap();
        assert!(!custom.enabled);
        assert_eq!(custom.incidents.window_ms, 120_000);
        assert_eq!(custom.incidents.max_duration_ms, 1_800_000);
        assert_eq!(custom.incidents.max_clients, 500);
        // Every mistake at once, each with its line.
        let error =
            source("injection = \"yes\"\ninjection_window = \"soon\"\ninjection_max_clients = 0\n")
                .unwrap_err();
        assert!(error.contains("injection"), "{error}");
        let error = source("injection_window = \"soon\"\ninjection_max_clients = 0\n").unwrap_err();
        assert!(
            error.contains("t.toml:4") && error.contains("injection_window"),
            "{error}"
        );
        assert!(
            error.contains("t.toml:5") && error.contains("injection_max_clients"),
            "{error}"
        );
    }

    #[test]
    fn an_unknown_format_field_names_the_field_and_its_line() {
        let error = load(
            "[[source]]\ntype = \"access_log\"\npath = \"a.log\"\n\
             client_field = \"http_x_real_ip\"\n",
        )
        .unwrap_err();
        assert!(error.contains("t.toml:4"), "{error}");
        assert!(error.contains("\"http_x_real_ip\""), "{error}");
        let error = load(
            "[[source]]\ntype = \"access_log\"\npath = \"a.log\"\nformat = '$remote_addr $request'\n",
        )
        .unwrap_err();
        assert!(
            error.contains("t.toml:4") && error.contains("$status"),
            "{error}"
        );
        let error =
            load("[[source]]\ntype = \"access_log\"\npath = \"a.log\"\nformat = \"apache\"\n")
                .unwrap_err();
        assert!(error.contains("unknown log format \"apache\""), "{error}");
    }

    #[test]
    fn json_fields_are_roles_for_the_json_format() {
        let config = load(
            "[[source]]\ntype = \"access_log\"\npath = \"a.log\"\nformat = \"json\"\n\
             json_fields = { status = \"code\", path = \"uri\" }\n",
        )
        .unwrap();
        let SourceConfig::AccessLog(source) = &config.sources[0] else {
            panic!();
        };
        let lookout_accesslog::LogFormat::Json(fields) = &source.parser.format else {
            panic!();
        };
        assert_eq!(
            (fields.status.as_str(), fields.path.as_str()),
            ("code", "uri")
        );
        let error = load(
            "[[source]]\ntype = \"access_log\"\npath = \"a.log\"\nformat = \"json\"\n\
             json_fields = { colour = \"x\" }\n",
        )
        .unwrap_err();
        assert!(error.contains("unknown role \"colour\""), "{error}");
    }
}
