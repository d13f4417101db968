//! Counters kept outside the server, by the sources of this process, for `/metrics`.
//!
//! A source that counts something people watch (the `log` source's refused lines by
//! reason) publishes its totals here with [`set_total`], keyed by metric, source and one
//! label; the server's `/metrics` writes them all with [`render`]. One process-wide
//! table: the sources run in the process that serves `/metrics`, and are built far from
//! the server's state. Bounded by the configuration: one row per source and label value
//! its code names (`&'static str`). Cost: one short mutex per update and per scrape.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::write::ExpositionWriter;
use super::MetricType;

type Key = (&'static str, String, &'static str, &'static str);

struct Table {
    help: BTreeMap<&'static str, &'static str>,
    values: BTreeMap<Key, u64>,
}

static TABLE: Mutex<Table> = Mutex::new(Table {
    help: BTreeMap::new(),
    values: BTreeMap::new(),
});

fn table() -> std::sync::MutexGuard<'static, Table> {
    TABLE.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// Sets counter `name{source, label}` to `total` (a total since the source started).
pub fn set_total(
    name: &'static str,
    help: &'static str,
    source: &str,
    label: (&'static str, &'static str),
    total: u64,
) {
    let mut table = table();
    table.help.insert(name, help);
    table
        .values
        .insert((name, source.to_string(), label.0, label.1), total);
}

/// Sets `name{source, outcome}` to each `(outcome, total)`: a source's lines or records
/// counted by what became of them.
pub fn set_outcomes(
    name: &'static str,
    help: &'static str,
    source: &str,
    outcomes: impl IntoIterator<Item = (&'static str, u64)>,
) {
    for (outcome, total) in outcomes {
        set_total(name, help, source, ("outcome", outcome), total);
    }
}

/// The total of `name{source, label}`, if set.
pub fn get(name: &str, source: &str, label: (&str, &str)) -> Option<u64> {
    table()
        .values
        .iter()
        .find(|((n, s, k, v), _)| *n == name && s == source && *k == label.0 && *v == label.1)
        .map(|(_, total)| *total)
}

/// Writes every counter, one family per name, as counters labelled `source` and the row's label.
pub fn render(out: &mut ExpositionWriter) {
    let table = table();
    let mut current = None;
    for ((name, source, label, value), total) in &table.values {
        if current != Some(*name) {
            let help = table.help.get(name).copied().unwrap_or("");
            out.family(name, help, MetricType::Counter);
            current = Some(*name);
        }
        out.sample(
            name,
            [("source", source.as_str()), (label, value)],
            *total as f64,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_are_set_and_rendered_per_source_and_label() {
        set_total(
            "lookout_test_refused_total",
            "Refused.",
            "s#1",
            ("reason", "a"),
            3,
        );
        set_total(
            "lookout_test_refused_total",
            "Refused.",
            "s#1",
            ("reason", "a"),
            5,
        );
        set_total(
            "lookout_test_refused_total",
            "Refused.",
            "s#2",
            ("reason", "b"),
            1,
        );
        assert_eq!(
            get("lookout_test_refused_total", "s#1", ("reason", "a")),
            Some(5)
        );
        let mut out = ExpositionWriter::new();
        render(&mut out);
        let text = out.finish();
        assert!(
            text.contains("# TYPE lookout_test_refused_total counter"),
            "{text}"
        );
        assert!(
            text.contains("lookout_test_refused_total{source=\"s#1\",reason=\"a\"} 5"),
            "{text}"
        );
        assert!(
            text.contains("lookout_test_refused_total{source=\"s#2\",reason=\"b\"} 1"),
            "{text}"
        );
    }
}
