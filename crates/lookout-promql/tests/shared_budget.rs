//! The sample budget shared by every query in flight (#16: four concurrent huge range
//! queries took the server to 10 GiB; each stayed under its own budget).

use std::sync::Arc;

use lookout_promql::budget::SharedSamples;
use lookout_promql::memory::MemorySource;
use lookout_promql::{range_query, EvalError, QueryOptions};

const MIN: i64 = 60_000;

fn source() -> MemorySource {
    let mut s = MemorySource::new();
    for i in 0..10 {
        let label = i.to_string();
        let samples = (0..=60).map(|m| (m * MIN, m as f64)).collect();
        s.add("m", &[("i", label.as_str())], samples);
    }
    s
}

#[test]
fn concurrent_queries_share_one_sample_budget() {
    let shared = Arc::new(SharedSamples::new(5_000));
    let options = QueryOptions {
        shared: Some(Arc::clone(&shared)),
        ..QueryOptions::default()
    };
    // Alone, the query fits the shared budget and gives all of it back.
    let answer = range_query(&source(), "m", 0, 60 * MIN, MIN, &options).unwrap();
    assert_eq!(answer.len(), 10);
    assert_eq!(shared.used(), 0, "an ended query holds nothing");

    // Another query in flight holds most of the pool: this one is refused at once,
    // naming the shared budget, under its own per-query budget.
    assert!(shared.take(4_900));
    let error = range_query(&source(), "m", 0, 60 * MIN, MIN, &options).unwrap_err();
    assert!(
        matches!(error, EvalError::Overloaded { limit: 5_000 }),
        "{error}"
    );
    assert!(error.to_string().contains("max_query_samples_total"));
    assert_eq!(
        shared.used(),
        4_900,
        "the refused query gave its share back"
    );

    // Once the other query ends, the same query is answered again.
    shared.give_back(4_900);
    assert!(range_query(&source(), "m", 0, 60 * MIN, MIN, &options).is_ok());
    assert_eq!(shared.used(), 0);
}
