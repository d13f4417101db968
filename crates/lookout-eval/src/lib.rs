//! Benchmark corpora readers and scorers.
