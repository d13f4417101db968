//! Cost of NAB scoring: the exhaustive sweep (called many times while tuning a detector), one
//! fixed-threshold evaluation, and loading the corpus. Uses the numenta results as scores.
//! Skips with a message when the NAB corpus is absent.

use criterion::{criterion_group, Criterion};
use lookout_eval::nab::{default_nab_dir, load_results_dir, NabCorpus, NabScorer};

fn nab_scoring(c: &mut Criterion) {
    let Some(dir) = default_nab_dir() else {
        eprintln!("skipping NAB benches: corpus not found (set LOOKOUT_NAB_DIR)");
        return;
    };
    let corpus = NabCorpus::load(&dir).expect("NAB corpus");
    let scores = load_results_dir(&corpus, &dir.join("results/numenta")).expect("numenta results");
    let scorer = NabScorer::new(&corpus);
    let standard = corpus
        .profile("standard")
        .expect("standard profile")
        .clone();

    let mut group = c.benchmark_group("nab");
    group.sample_size(20);
    group.bench_function("sweep_3_profiles", |b| {
        b.iter(|| scorer.sweep(&scores).unwrap())
    });
    group.bench_function("score_at_threshold", |b| {
        b.iter(|| {
            scorer
                .score_at_threshold(&scores, &standard, 0.5421876907348634)
                .unwrap()
        })
    });
    group.bench_function("scorer_new", |b| b.iter(|| NabScorer::new(&corpus)));
    group.sample_size(10);
    group.bench_function("corpus_load", |b| b.iter(|| NabCorpus::load(&dir).unwrap()));
    group.finish();
}

criterion_group!(benches, nab_scoring);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
