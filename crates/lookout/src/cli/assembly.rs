//! Assembly: the parts of a running lookout built from a configuration, in one place
//! for `serve`, `demo` and `import` (and `alert test`, which reads the configuration).
//!
//! - [`load_config`]: the file (or the embedded default) with the environment applied;
//! - [`open_server`]: the store, the detection engine, the ingestion pipeline over
//!   them, and the HTTP server over the pipeline;
//! - [`start_alerting`]: alerting, subscribed to the pipeline;
//! - [`configured_sources`]: the configured sources, each with its kind (the `protocol`
//!   label of its samples) and its lane (live, or history for CloudWatch's minutes-old
//!   datapoints).
//!
//! Nothing here runs anything: the subcommands start and stop what they assemble.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use lookout_alert::AlertService;
use lookout_config::Config;
use lookout_detect::engine::{Engine, EngineConfig};
use lookout_protocol::SampleLimits;
use lookout_server::auth::{ApiToken, AuthOptions};
use lookout_server::guard::AccessOptions;
use lookout_server::{Pipeline, Server, ServerOptions, TimeCheck};
use lookout_sources::Source;
use lookout_store::{Store, StoreConfig};

use super::detection::DetectionPipelines;

/// Logging to stderr: `RUST_LOG`, or warnings and the audit log of admin actions
/// (`lookout::audit` at info).
pub(crate) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,lookout::audit=info"));
    // Colours only on a terminal: a log file (the audit log among it) stays plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Reads the configuration file (or the embedded default) and applies the environment.
pub(crate) fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    let mut config = match path {
        Some(path) => super::check_config::load_checked(path)
            .map_err(|errors| anyhow::anyhow!("invalid configuration:\n{errors}"))?,
        None => Config::default(),
    };
    config
        .apply_process_env()
        .map_err(|errors| anyhow::anyhow!("invalid environment:\n{errors}"))?;
    Ok(config)
}

/// The store, engine, pipeline and server of a configuration, ready to run.
pub(crate) fn open_server(config: &Config) -> anyhow::Result<Server> {
    let storage = &config.storage;
    let store_config = StoreConfig {
        raw_retention: storage.raw_retention,
        rollup_1m_retention: storage.rollup_1m_retention,
        rollup_1h_retention: storage.rollup_1h_retention,
        event_retention: storage.event_retention,
        ..StoreConfig::default()
    };
    let data_dir = &config.server.data_dir;
    let pipelines = DetectionPipelines::from_config(&config.detection)?;
    let store = Arc::new(
        Store::open(data_dir, store_config)
            .with_context(|| format!("opening the store in {}", data_dir.display()))?,
    );
    let max_series = usize::try_from(config.server.max_series).unwrap_or(usize::MAX);
    let (alternatives, choose) = pipelines.chooser(&store);
    let engine = Engine::start(EngineConfig {
        queue_capacity: config.server.ingest_queue.max(1),
        // The server enforces the limit per request; the engine's own limit is a backstop.
        max_series: max_series.saturating_add(max_series / 10 + 16),
        pipeline: pipelines.default,
        alternatives,
        choose,
        ..EngineConfig::default()
    })
    .context("starting the detection engine")?;
    let options = ServerOptions {
        max_body_bytes: usize::try_from(config.server.max_body_bytes).unwrap_or(usize::MAX),
        max_series,
        query_max_samples: usize::try_from(config.server.query_max_samples).unwrap_or(usize::MAX),
        query_timeout: config.server.query_timeout,
        max_matchers: config.server.limits.max_matchers,
        max_series_visited: usize::try_from(config.server.limits.max_series_visited)
            .unwrap_or(usize::MAX),
        max_query_samples_total: usize::try_from(config.server.limits.max_query_samples_total)
            .unwrap_or(usize::MAX),
        max_inflight_body_bytes: usize::try_from(config.server.limits.max_inflight_body_bytes)
            .unwrap_or(usize::MAX),
        max_inflight_body_bytes_per_client: usize::try_from(
            config.server.limits.max_inflight_body_bytes_per_client,
        )
        .unwrap_or(usize::MAX),
        compaction_interval: Some(storage.compaction_interval),
        usage: super::usage::usage_options(&config.usage),
        object_store: Some(lookout_server::SharedObjectStore(
            super::objects::open_object_store(config)?,
        )),
        sample_limits: SampleLimits {
            max_labels: usize::try_from(config.server.max_labels_per_series).unwrap_or(usize::MAX),
            max_name_bytes: usize::try_from(config.server.max_label_name_bytes)
                .unwrap_or(usize::MAX),
            max_label_value_bytes: usize::try_from(config.server.max_label_value_bytes)
                .unwrap_or(usize::MAX),
            ..SampleLimits::default()
        },
        access: AccessOptions::for_listen(
            config.server.listen,
            config.server.allowed_hosts.clone(),
        ),
        max_silence_ms: i64::try_from(config.server.max_silence_duration.as_millis())
            .unwrap_or(i64::MAX),
        auth: AuthOptions {
            secure_cookie: config.server.tls.is_some(),
            ..auth_options(&config.auth)
        },
        ..ServerOptions::default()
    };
    let pipeline = Pipeline::new(options.pipeline_options(), store, Arc::new(engine));
    Ok(Server::over(options, pipeline))
}

/// The server's tokens from `[auth]`.
pub(crate) fn auth_options(auth: &lookout_config::AuthConfig) -> AuthOptions {
    AuthOptions {
        enabled: auth.enabled,
        tokens: auth
            .tokens
            .iter()
            .map(|token| ApiToken {
                name: token.name.clone(),
                role: token.role,
                sha256: token.sha256,
            })
            .collect(),
        session_ttl: auth.session_ttl,
        secure_cookie: false,
    }
}

/// Refuses to serve a non-loopback address without authentication unless the operator
/// opted out with `[server] allow_unauthenticated_remote = true`: anyone who can reach
/// the port could otherwise read everything, push samples and silence alerts. With
/// `[auth] enabled` every request needs a token, so any address may be served.
pub(crate) fn check_exposure(config: &Config) -> anyhow::Result<()> {
    let listen = config.server.listen;
    if listen.ip().is_loopback()
        || config.server.allow_unauthenticated_remote
        || config.auth.enabled
    {
        return Ok(());
    }
    anyhow::bail!(
        "refusing to listen on {listen}: it is not a loopback address and lookout has no authentication configured, \
         so anyone who can reach it could read all data, push samples and silence alerts. \
         Enable API tokens ([auth] enabled = true, `lookout token create`), listen on 127.0.0.1 \
         (behind a reverse proxy that authenticates), or set \
         [server] allow_unauthenticated_remote = true to accept the risk"
    )
}

/// Starts alerting (database `<data_dir>/alerts.db`) and subscribes it to the server's
/// pipeline, so anomaly changes reach it.
pub(crate) fn start_alerting(config: &Config, server: &Server) -> anyhow::Result<AlertService> {
    let alerting = lookout_alert::alerting_config(config).context("[alert] configuration")?;
    let path = alerting.db_path.clone();
    let service = AlertService::start(alerting)
        .with_context(|| format!("starting alerting ({})", path.display()))?;
    server.attach_alerts(service.handle());
    Ok(service)
}

/// A source built from the configuration, not started yet.
pub(crate) struct ConfiguredSource {
    pub source: Box<dyn Source>,
    /// The `protocol` label of its samples: its `[[source]]` type (`host`, `cloudwatch`, ...).
    pub kind: &'static str,
    /// Live data, or history (any age accepted).
    pub time_check: TimeCheck,
}

/// Every `[[source]]` of the configuration, built through the source registry.
/// `server`'s object store (opened once, with the server) is where sources read trained
/// models.
pub(crate) fn configured_sources(
    config: &Config,
    server: &Server,
) -> anyhow::Result<Vec<ConfiguredSource>> {
    let objects = server.state().options.object_store.as_ref();
    let built = lookout_sources::build_all(config, objects.map(|store| &*store.0))?;
    Ok(built
        .into_iter()
        .zip(&config.sources)
        .map(|(built, source)| ConfiguredSource {
            source: built.source,
            kind: source.kind(),
            time_check: match built.delivery {
                lookout_sources::Delivery::Live => TimeCheck::Live,
                lookout_sources::Delivery::History => TimeCheck::History,
            },
        })
        .collect())
}

pub(crate) async fn wait_for_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Config {
        let text = format!("[server]\nlisten = \"0.0.0.0:8080\"\n{extra}");
        Config::from_str_named(&text, "lookout.toml").unwrap_or_else(|errors| panic!("{errors}"))
    }

    /// A public address needs authentication or the explicit opt-out; with tokens on,
    /// the opt-out is not needed.
    #[test]
    fn a_public_address_is_served_only_with_auth_or_the_opt_out() {
        let refused = check_exposure(&config("")).unwrap_err().to_string();
        assert!(refused.contains("[auth] enabled = true"), "{refused}");
        assert!(check_exposure(&config("allow_unauthenticated_remote = true\n")).is_ok());
        let digest = lookout_config::auth::sha256_hex(&lookout_server::auth::hash_token("lk_a"));
        let with_auth = config(&format!(
            "[auth]\nenabled = true\n[[auth.token]]\nname = \"ops\"\nrole = \"admin\"\nsha256 = \"{digest}\"\n"
        ));
        assert!(check_exposure(&with_auth).is_ok());
        let options = auth_options(&with_auth.auth);
        assert!(options.enabled);
        assert_eq!(options.tokens[0].name, "ops");
        assert_eq!(
            options.tokens[0].sha256,
            lookout_server::auth::hash_token("lk_a")
        );
    }
}
