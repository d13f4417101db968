//! Connecting to NATS and making sure the stream and the buckets exist.
//!
//! Credentials are read here, at start, from the file or environment variable the
//! configuration names; they go to the client and nowhere else (no log line, no error
//! message carries them). The stream (`<stream>`, subjects `<stream>.p.>`) and the two
//! buckets are created when missing, with file storage and `min(3, configured
//! servers)` replicas: one copy per server up to three, so an acknowledged write
//! survives the loss of any one server once there are three.

use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};
use lookout_config::{ClusterConfig, ClusterCredentials};

use crate::error::ClusterError;
use crate::partition::stream_subjects;

/// The lease and heartbeat bucket (entries live `lease_ttl`).
pub fn lease_bucket(config: &ClusterConfig) -> String {
    format!("{}_leases", config.stream)
}

/// The progress bucket (last scored sequence per partition; entries do not expire).
pub fn progress_bucket(config: &ClusterConfig) -> String {
    format!("{}_progress", config.stream)
}

pub fn replicas(config: &ClusterConfig) -> usize {
    config.nats.len().clamp(1, 3)
}

/// The JetStream handles a node works with.
#[derive(Clone)]
pub struct Handles {
    pub client: async_nats::Client,
    pub jetstream: jetstream::Context,
    pub stream: stream::Stream,
    pub leases: kv::Store,
    pub progress: kv::Store,
}

/// Connects (retrying for up to `wait`), then opens or creates the stream and buckets.
pub async fn connect(config: &ClusterConfig, wait: Duration) -> Result<Handles, ClusterError> {
    let options = options(config).await?;
    let urls = config.nats.join(",");
    let client = tokio::time::timeout(wait, options.connect(config.nats.clone()))
        .await
        .map_err(|_| {
            ClusterError::Connect(format!("no NATS server answered within {wait:?} ({urls})"))
        })?
        .map_err(|error| ClusterError::Connect(format!("{urls}: {error}")))?;
    let jetstream = jetstream::new(client.clone());
    // A cluster that just started has no JetStream leader for a few seconds: retry.
    let deadline = tokio::time::Instant::now() + wait;
    let (stream, leases, progress) = loop {
        match open_all(config, &jetstream).await {
            Ok(opened) => break opened,
            Err(error) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(%error, "JetStream not ready; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => return Err(error),
        }
    };
    Ok(Handles {
        client,
        jetstream,
        stream,
        leases,
        progress,
    })
}

async fn open_all(
    config: &ClusterConfig,
    jetstream: &jetstream::Context,
) -> Result<(stream::Stream, kv::Store, kv::Store), ClusterError> {
    let stream = open_stream(config, jetstream).await?;
    let leases = open_bucket(
        jetstream,
        lease_bucket(config),
        config,
        Some(config.lease_ttl),
    )
    .await?;
    let progress = open_bucket(jetstream, progress_bucket(config), config, None).await?;
    Ok((stream, leases, progress))
}

async fn options(config: &ClusterConfig) -> Result<async_nats::ConnectOptions, ClusterError> {
    let options = async_nats::ConnectOptions::new()
        .name(format!("lookout {}", config.node_id))
        .connection_timeout(Duration::from_secs(2))
        .retry_on_initial_connect();
    Ok(match &config.credentials {
        ClusterCredentials::None => options,
        ClusterCredentials::CredentialsFile(path) => {
            options.credentials_file(path).await.map_err(|error| {
                ClusterError::Credentials(format!("{}: {}", path.display(), error.kind()))
            })?
        }
        ClusterCredentials::TokenFile(path) => {
            let token = std::fs::read_to_string(path).map_err(|error| {
                ClusterError::Credentials(format!("{}: {}", path.display(), error.kind()))
            })?;
            options.token(token.trim().to_string())
        }
        ClusterCredentials::TokenEnv(name) => {
            let token = std::env::var(name).map_err(|_| {
                ClusterError::Credentials(format!("environment variable {name} is not set"))
            })?;
            options.token(token.trim().to_string())
        }
    })
}

async fn open_stream(
    config: &ClusterConfig,
    jetstream: &jetstream::Context,
) -> Result<stream::Stream, ClusterError> {
    jetstream
        .get_or_create_stream(stream::Config {
            name: config.stream.clone(),
            subjects: vec![stream_subjects(&config.stream)],
            storage: stream::StorageType::File,
            num_replicas: replicas(config),
            ..Default::default()
        })
        .await
        .map_err(|error| ClusterError::JetStream(format!("stream {}: {error}", config.stream)))
}

async fn open_bucket(
    jetstream: &jetstream::Context,
    bucket: String,
    config: &ClusterConfig,
    max_age: Option<Duration>,
) -> Result<kv::Store, ClusterError> {
    if let Ok(store) = jetstream.get_key_value(bucket.as_str()).await {
        return Ok(store);
    }
    jetstream
        .create_key_value(kv::Config {
            bucket: bucket.clone(),
            history: 1,
            max_age: max_age.unwrap_or_default(),
            storage: stream::StorageType::File,
            num_replicas: replicas(config),
            ..Default::default()
        })
        .await
        .map_err(|error| ClusterError::JetStream(format!("bucket {bucket}: {error}")))
}
