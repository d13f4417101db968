//! Building sources from configuration: the one list of source factories.
//!
//! [`build`] turns one validated `[[source]]` ([`SourceConfig`], whose keys and checks
//! each source type owns in `lookout-config`'s `sources` module) into a runnable
//! [`Source`], and says whether its samples are live or history ([`Delivery`]).
//! [`build_all`] builds every configured source; `serve` and `demo` both call it.
//! Adding a source type is its module here with a [`BuildSource`] impl for its
//! configuration type; the compiler asks for the impl once the configuration side is
//! registered, and nothing here changes.
//!
//! Cost: construction only; nothing here runs once the sources are started.

use lookout_config::{Config, SourceConfig};

use crate::Source;

/// Whether a source's timestamps are near now or may be arbitrarily old.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Collected now: the ingestion time window applies.
    Live,
    /// Minutes or days old (CloudWatch datapoints and backfill, a file read from its
    /// beginning): stored as history, any time accepted.
    History,
}

/// A followed file read from its end is live; read from its beginning, it is history.
impl From<lookout_config::ReadFrom> for Delivery {
    fn from(read_from: lookout_config::ReadFrom) -> Delivery {
        match read_from {
            lookout_config::ReadFrom::End => Delivery::Live,
            lookout_config::ReadFrom::Beginning => Delivery::History,
        }
    }
}

/// A source ready to be spawned.
pub struct BuiltSource {
    pub source: Box<dyn Source>,
    pub delivery: Delivery,
}

impl std::fmt::Debug for BuiltSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltSource")
            .field("source", &self.source.name())
            .field("delivery", &self.delivery)
            .finish()
    }
}

/// Why a configured source could not be built.
#[derive(Debug, thiserror::Error)]
#[error("[[source]] #{index} (type {kind:?}): {reason}")]
pub struct BuildError {
    /// 1-based position among the `[[source]]` tables.
    pub index: usize,
    pub kind: &'static str,
    pub reason: String,
}

/// How one source type's validated configuration becomes a runnable source.
///
/// Each source module implements it for its configuration type, beside the source it
/// builds; [`build`] reaches every implementation through
/// [`lookout_config::with_source_config!`], so there is no list here to keep.
pub trait BuildSource {
    /// Builds the source of the `index`-th (1-based) `[[source]]` table; the error is the
    /// reason, which [`build`] places in its [`BuildError`].
    fn build_source(&self, index: usize) -> Result<(Box<dyn Source>, Delivery), String>;

    /// The same, for a source that needs more of the configuration than its table (the
    /// `packet_capture` source reads its traffic model from the object store).
    fn build_source_in(
        &self,
        index: usize,
        context: &BuildContext<'_>,
    ) -> Result<(Box<dyn Source>, Delivery), String> {
        let _ = context;
        self.build_source(index)
    }
}

/// What a source may need beyond its own `[[source]]` table.
#[derive(Debug, Clone, Copy)]
pub struct BuildContext<'a> {
    /// The server's data directory (`[server] data_dir`).
    pub data_dir: &'a std::path::Path,
    /// The object store trained models are read from (`[object_store]`); `None` where
    /// there is none (a source that needs a model then refuses to build).
    pub objects: Option<&'a dyn lookout_objstore::ObjectStore>,
}

/// Builds the `index`-th (1-based) configured source.
pub fn build(
    index: usize,
    config: &SourceConfig,
    context: &BuildContext<'_>,
) -> Result<BuiltSource, BuildError> {
    let (source, delivery) =
        lookout_config::with_source_config!(config, typed => typed.build_source_in(index, context))
            .map_err(|reason| BuildError {
                index,
                kind: config.kind(),
                reason,
            })?;
    Ok(BuiltSource { source, delivery })
}

/// Builds every `[[source]]` of `config`, in file order.
pub fn build_all(
    config: &Config,
    objects: Option<&dyn lookout_objstore::ObjectStore>,
) -> Result<Vec<BuiltSource>, BuildError> {
    let context = BuildContext {
        data_dir: &config.server.data_dir,
        objects,
    };
    config
        .sources
        .iter()
        .enumerate()
        .map(|(position, source)| build(position + 1, source, &context))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_configured_source_is_built_with_its_delivery() {
        let text = "[[source]]\ntype = \"host\"\n\
                    [[source]]\ntype = \"cloudwatch\"\n\
                    [[source]]\ntype = \"prometheus_scrape\"\ntargets = [\"127.0.0.1:9100\"]\n\
                    [[source]]\ntype = \"file\"\npath = \"/nonexistent/*.jsonl\"\n\
                    [[source]]\ntype = \"file\"\npath = \"/nonexistent/b.jsonl\"\nread_from = \"beginning\"\n\
                    [[source]]\ntype = \"auth_log\"\npath = \"/nonexistent/auth.log\"\n\
                    [[source]]\ntype = \"auth_log\"\njournal = true\nread_from = \"beginning\"\n\
                    [[source]]\ntype = \"access_log\"\npath = \"/nonexistent/access.log\"\n\
                    [[source]]\ntype = \"log\"\npath = \"/nonexistent/app.log\"\n\
                    [[source]]\ntype = \"kafka\"\nbrokers = [\"127.0.0.1:9\"]\ntopics = [\"t\"]\nformat = \"json\"\n\
                    [[source]]\ntype = \"kafka\"\nbrokers = [\"127.0.0.1:9\"]\ntopics = [\"t\"]\nformat = \"influx\"\nstart_from = \"earliest\"\n";
        let config = Config::from_str_named(text, "t.toml").unwrap();
        let built = build_all(&config, None).unwrap();
        let shape: Vec<(&str, Delivery)> = built
            .iter()
            .map(|built| (built.source.name(), built.delivery))
            .collect();
        assert_eq!(
            shape,
            [
                ("host", Delivery::Live),
                ("cloudwatch#2", Delivery::History),
                ("prometheus_scrape", Delivery::Live),
                ("file#4", Delivery::Live),
                ("file#5", Delivery::History),
                ("auth_log#6", Delivery::Live),
                ("auth_log#7", Delivery::History),
                ("access_log#8", Delivery::Live),
                ("log#9", Delivery::Live),
                ("kafka#10", Delivery::Live),
                ("kafka#11", Delivery::History),
            ]
        );
    }

    #[test]
    fn no_source_builds_nothing() {
        let config = Config::from_str_named("", "t.toml").unwrap();
        assert!(build_all(&config, None).unwrap().is_empty());
    }
}
