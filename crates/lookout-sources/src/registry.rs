//! Building sources from configuration: the one list of source factories.
//!
//! [`build`] turns one validated `[[source]]` ([`SourceConfig`], whose keys and checks
//! each source type owns in `lookout-config`'s `sources` module) into a runnable
//! [`Source`], and says whether its samples are live or history ([`Delivery`]).
//! [`build_all`] builds every configured source; `serve` and `demo` both call it.
//! Adding a source type is its module here plus one arm in [`build`] (the match is
//! exhaustive, so the compiler asks for it once the configuration side is registered).
//!
//! Cost: construction only; nothing here runs once the sources are started.

use lookout_config::{Config, ReadFrom, SourceConfig};

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

/// Builds the `index`-th (1-based) configured source.
pub fn build(index: usize, config: &SourceConfig) -> Result<BuiltSource, BuildError> {
    let fail = |reason: String| BuildError {
        index,
        kind: config.kind(),
        reason,
    };
    let (source, delivery): (Box<dyn Source>, Delivery) = match config {
        SourceConfig::Host(host) => (Box::new(crate::host::host_source(host)), Delivery::Live),
        SourceConfig::CloudWatch(cloudwatch) => {
            let name = format!("cloudwatch#{index}");
            let source = crate::cloudwatch::CloudWatchSource::new(name, cloudwatch);
            (Box::new(source), Delivery::History)
        }
        SourceConfig::PrometheusScrape(scrape) => {
            let source =
                crate::scrape::ScrapeSource::new("prometheus_scrape", scrape, Default::default())
                    .map_err(|error| fail(error.to_string()))?;
            (Box::new(source), Delivery::Live)
        }
        SourceConfig::File(file) => {
            let delivery = match file.read_from {
                ReadFrom::End => Delivery::Live,
                ReadFrom::Beginning => Delivery::History,
            };
            let source = crate::file::file_source(format!("file#{index}"), file);
            (Box::new(source), delivery)
        }
    };
    Ok(BuiltSource { source, delivery })
}

/// Builds every `[[source]]` of `config`, in file order.
pub fn build_all(config: &Config) -> Result<Vec<BuiltSource>, BuildError> {
    config
        .sources
        .iter()
        .enumerate()
        .map(|(position, source)| build(position + 1, source))
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
                    [[source]]\ntype = \"file\"\npath = \"/nonexistent/b.jsonl\"\nread_from = \"beginning\"\n";
        let config = Config::from_str_named(text, "t.toml").unwrap();
        let built = build_all(&config).unwrap();
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
            ]
        );
    }

    #[test]
    fn no_source_builds_nothing() {
        let config = Config::from_str_named("", "t.toml").unwrap();
        assert!(build_all(&config).unwrap().is_empty());
    }
}
