//! Validation of `[cluster]`: a node name, at least one NATS URL, a partition count, a
//! stream name JetStream accepts, a lease time to live, and at most one way to
//! authenticate (a `.creds` file, a token file, or a token in the environment).

use std::path::PathBuf;
use std::time::Duration;

use super::Checker;
use crate::error::ErrorKind;
use crate::raw::RawCluster;
use crate::types::{ClusterConfig, ClusterCredentials};

const CONTEXT: &str = "[cluster]";
pub(crate) const DEFAULT_PARTITIONS: u64 = 16;
pub(crate) const DEFAULT_STREAM: &str = "lookout";
pub(crate) const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(6);

/// A node id or stream name: 1 to 64 of `A-Z a-z 0-9 _ -` (both become parts of NATS
/// subjects and key names, where `.`, `*`, `>` and spaces have meanings).
fn check_name(text: &str, what: &str) -> Result<String, String> {
    let valid = (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(text.to_string())
    } else {
        Err(format!(
            "{text:?} is not a valid {what} (1 to 64 characters of A-Z a-z 0-9 _ -)"
        ))
    }
}

fn check_url(url: &str) -> Result<(), String> {
    let rest = ["nats://", "tls://", "ws://", "wss://"]
        .iter()
        .find_map(|scheme| url.strip_prefix(scheme));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => Ok(()),
        _ => Err(format!(
            "{url:?} is not a NATS server URL (nats://host:port or tls://host:port)"
        )),
    }
}

impl Checker<'_, '_, '_> {
    pub(super) fn cluster(&mut self, line: usize, raw: &RawCluster) -> ClusterConfig {
        let node_id = match &raw.node_id {
            Some(_) => self.value(CONTEXT, "node_id", &raw.node_id, String::new(), |id| {
                check_name(id, "node id")
            }),
            None => {
                self.missing(line, "node_id", "every node needs its own name");
                String::new()
            }
        };
        let nats = match &raw.nats {
            Some(_) => self.value(CONTEXT, "nats", &raw.nats, Vec::new(), |urls| {
                if urls.is_empty() {
                    return Err("list at least one NATS server URL".to_string());
                }
                urls.iter().try_for_each(|url| check_url(url))?;
                Ok(urls.clone())
            }),
            None => {
                self.missing(line, "nats", "list the NATS server URLs");
                Vec::new()
            }
        };
        let partitions = self.integer_in(
            CONTEXT,
            "partitions",
            &raw.partitions,
            DEFAULT_PARTITIONS,
            1,
            1024,
        );
        let stream = self.value(
            CONTEXT,
            "stream",
            &raw.stream,
            DEFAULT_STREAM.to_string(),
            |name| check_name(name, "stream name"),
        );
        let lease_ttl = self.value(
            CONTEXT,
            "lease_ttl",
            &raw.lease_ttl,
            DEFAULT_LEASE_TTL,
            |text| {
                let ttl = crate::values::parse_duration(text)?;
                if !(Duration::from_secs(1)..=Duration::from_secs(60)).contains(&ttl) {
                    return Err(format!("{text:?} is out of range (from 1s to 60s)"));
                }
                Ok(ttl)
            },
        );
        let credentials = self.cluster_credentials(raw);
        ClusterConfig {
            node_id,
            nats,
            partitions: partitions as u32,
            stream,
            lease_ttl,
            credentials,
        }
    }

    fn missing(&mut self, line: usize, key: &str, why: &str) {
        self.report_line(
            ErrorKind::MissingKey,
            line,
            CONTEXT,
            Some(key),
            format!("`{key}` is required: {why}"),
        );
    }

    fn cluster_credentials(&mut self, raw: &RawCluster) -> ClusterCredentials {
        let file = self.optional_string(CONTEXT, "credentials_file", &raw.credentials_file);
        let token_file = self.optional_string(CONTEXT, "token_file", &raw.token_file);
        let token_env = self.value(CONTEXT, "token_env", &raw.token_env, None, |name| {
            let valid = !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if valid {
                Ok(Some(name.clone()))
            } else {
                Err(format!("{name:?} is not an environment variable name"))
            }
        });
        let mut chosen = Vec::new();
        if let Some(path) = file {
            chosen.push((
                "credentials_file",
                ClusterCredentials::CredentialsFile(PathBuf::from(path)),
            ));
        }
        if let Some(path) = token_file {
            chosen.push((
                "token_file",
                ClusterCredentials::TokenFile(PathBuf::from(path)),
            ));
        }
        if let Some(name) = token_env {
            chosen.push(("token_env", ClusterCredentials::TokenEnv(name)));
        }
        if chosen.len() > 1 {
            let (second, _) = chosen[1];
            let field = match second {
                "token_file" => raw.token_file.as_ref(),
                _ => raw.token_env.as_ref(),
            };
            if let Some(field) = field {
                self.report_at(
                    ErrorKind::InvalidValue,
                    CONTEXT,
                    second,
                    field,
                    "set one of `credentials_file`, `token_file` and `token_env`, not several"
                        .to_string(),
                );
            }
        }
        chosen
            .into_iter()
            .next()
            .map(|(_, credentials)| credentials)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::types::ClusterCredentials;
    use crate::Config;

    #[test]
    fn a_cluster_section_takes_its_defaults() {
        let config = Config::from_str_named(
            "[cluster]\nnode_id = \"a\"\nnats = [\"nats://127.0.0.1:4222\"]\n",
            "t.toml",
        )
        .unwrap();
        let cluster = config.cluster.unwrap();
        assert_eq!(cluster.node_id, "a");
        assert_eq!(cluster.partitions, 16);
        assert_eq!(cluster.stream, "lookout");
        assert_eq!(cluster.lease_ttl, Duration::from_secs(6));
        assert_eq!(cluster.credentials, ClusterCredentials::None);
        assert!(Config::from_str_named("", "t.toml")
            .unwrap()
            .cluster
            .is_none());
    }

    #[test]
    fn every_mistake_is_reported_at_once() {
        let text = "[cluster]\nnats = []\npartitions = 0\nstream = \"a.b\"\nlease_ttl = \"5m\"\n\
                    token_file = \"/t\"\ntoken_env = \"1X\"\n";
        let errors = Config::from_str_named(text, "t.toml")
            .unwrap_err()
            .to_string();
        for expected in [
            "`node_id` is required",
            "at least one NATS server URL",
            "partitions",
            "not a valid stream name",
            "from 1s to 60s",
            "not an environment variable name",
        ] {
            assert!(
                errors.contains(expected),
                "{expected} missing from {errors}"
            );
        }
        let text =
            "[cluster]\nnode_id = \"a b\"\nnats = [\"http://x\"]\ncredentials_file = \"/c\"\n\
                    token_env = \"NATS_TOKEN\"\n";
        let errors = Config::from_str_named(text, "t.toml")
            .unwrap_err()
            .to_string();
        for expected in [
            "not a valid node id",
            "not a NATS server URL",
            "not several",
        ] {
            assert!(
                errors.contains(expected),
                "{expected} missing from {errors}"
            );
        }
    }
}
