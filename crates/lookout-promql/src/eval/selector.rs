//! Instant and range vector selectors and subqueries, as Prometheus 2.x evaluates them.
//!
//! An instant selector at time `t` (after `@` and `offset`) takes, per series, the newest
//! sample in `[t - lookback, t]`, and nothing when that sample is a stale marker. A range
//! selector `x[r]` takes the samples in `[t - r, t]`, stale markers dropped. A subquery
//! `expr[r:s]` evaluates `expr` at the multiples of `s` and windows those points the same
//! way (the step defaults to [`crate::QueryOptions::subquery_step_ms`]).

use promql_parser::label::MatchOp as ParserOp;
use promql_parser::parser::{Expr, VectorSelector};

use super::{Evaluator, Windows};
use crate::error::EvalError;
use crate::labels::METRIC_NAME;
use crate::source::{is_stale, MatchOp, Matcher, RawSeries};
use crate::value::{Series, Steps, Value};

impl Evaluator<'_> {
    /// The matchers of a selector, the metric name as a `__name__` matcher.
    pub fn matchers(&self, vs: &VectorSelector) -> Result<Vec<Matcher>, EvalError> {
        if !vs.matchers.or_matchers.is_empty() {
            return Err(self.unsupported("`or` inside a selector's braces", " or "));
        }
        let mut out = Vec::new();
        if let Some(name) = &vs.name {
            out.push(Matcher {
                name: METRIC_NAME.into(),
                op: MatchOp::Equal,
                value: name.clone(),
            });
        }
        for m in &vs.matchers.matchers {
            let op = match &m.op {
                ParserOp::Equal => MatchOp::Equal,
                ParserOp::NotEqual => MatchOp::NotEqual,
                ParserOp::Re(r) => MatchOp::Regex(r.clone()),
                ParserOp::NotRe(r) => MatchOp::NotRegex(r.clone()),
            };
            out.push(Matcher {
                name: m.name.clone(),
                op,
                value: m.value.clone(),
            });
        }
        Ok(out)
    }

    /// Reads a selector's series; `count` puts every sample read against the budget
    /// (range selectors; an instant selector counts the points it selects instead).
    fn read(
        &mut self,
        vs: &VectorSelector,
        from: i64,
        to: i64,
        count: bool,
    ) -> Result<Vec<RawSeries>, EvalError> {
        let matchers = self.matchers(vs)?;
        let series = self.source.select(&matchers, from, to)?;
        if count {
            let samples: usize = series.iter().map(|s| s.samples.len()).sum();
            self.account(samples)?;
        }
        Ok(series)
    }

    /// An instant vector selector over the steps; with `timestamps`, each value is the
    /// time (seconds) of the sample chosen, as `timestamp(x)` needs.
    pub fn select_vector(
        &mut self,
        vs: &VectorSelector,
        steps: &Steps,
        timestamps: bool,
    ) -> Result<Vec<Series>, EvalError> {
        let refs = self.reference_times(steps, &vs.at, &vs.offset);
        let lookback = self.options.lookback_ms;
        let (Some(&min), Some(&max)) = (refs.iter().min(), refs.iter().max()) else {
            return Ok(Vec::new());
        };
        let raw = self.read(vs, min - lookback, max, false)?;
        let mut out = Vec::with_capacity(raw.len());
        for series in raw {
            self.check_deadline()?;
            let samples = &series.samples;
            let values: Vec<Option<f64>> = refs
                .iter()
                .map(|&t| {
                    let upto = samples.partition_point(|(ts, _)| *ts <= t);
                    let (ts, v) = *samples.get(upto.checked_sub(1)?)?;
                    if ts < t - lookback || is_stale(v) {
                        return None;
                    }
                    Some(if timestamps { ts as f64 / 1000.0 } else { v })
                })
                .collect();
            if values.iter().any(Option::is_some) {
                out.push(Series {
                    labels: series.labels,
                    values,
                });
            }
        }
        Ok(out)
    }

    /// A range vector argument (matrix selector or subquery, parentheses allowed).
    pub fn eval_windows(&mut self, expr: &Expr, steps: &Steps) -> Result<Windows, EvalError> {
        match super::unwrap_parens(expr) {
            Expr::MatrixSelector(ms) => {
                let vs = &ms.vs;
                let range_ms = ms.range.as_millis() as i64;
                let ends = self.reference_times(steps, &vs.at, &vs.offset);
                let (Some(&min), Some(&max)) = (ends.iter().min(), ends.iter().max()) else {
                    return Ok(Windows {
                        series: Vec::new(),
                        range_ms,
                        ends,
                    });
                };
                let mut series = self.read(vs, min - range_ms, max, true)?;
                for s in &mut series {
                    s.samples.retain(|(_, v)| !is_stale(*v));
                }
                series.retain(|s| !s.samples.is_empty());
                Ok(Windows {
                    series,
                    range_ms,
                    ends,
                })
            }
            Expr::Subquery(sq) => {
                let range_ms = sq.range.as_millis() as i64;
                let step_ms = sq
                    .step
                    .map(|s| s.as_millis() as i64)
                    .unwrap_or(self.options.subquery_step_ms)
                    .max(1);
                let ends = self.reference_times(steps, &sq.at, &sq.offset);
                let (Some(&min), Some(&max)) = (ends.iter().min(), ends.iter().max()) else {
                    return Ok(Windows {
                        series: Vec::new(),
                        range_ms,
                        ends,
                    });
                };
                // The first multiple of the step at or after the earliest window start.
                let lowest = min - range_ms;
                let mut start = step_ms * lowest.div_euclid(step_ms);
                if start < lowest {
                    start += step_ms;
                }
                let series = if start > max {
                    Vec::new()
                } else {
                    let count = ((max - start) / step_ms + 1) as usize;
                    self.account(count)?;
                    let inner = Steps {
                        start,
                        step: step_ms,
                        count,
                    };
                    match self.eval(&sq.expr, &inner)? {
                        Value::Vector(series) => series
                            .into_iter()
                            .map(|s| RawSeries {
                                labels: s.labels,
                                samples: s
                                    .values
                                    .iter()
                                    .enumerate()
                                    .filter_map(|(i, v)| v.map(|v| (inner.at(i), v)))
                                    .collect(),
                            })
                            .collect(),
                        Value::Scalar(values) => vec![RawSeries {
                            labels: Default::default(),
                            samples: values
                                .iter()
                                .enumerate()
                                .map(|(i, v)| (inner.at(i), *v))
                                .collect(),
                        }],
                        other => {
                            return Err(EvalError::exec(format!(
                                "subquery is only allowed on instant vector, got {}",
                                other.type_name()
                            )))
                        }
                    }
                };
                Ok(Windows {
                    series,
                    range_ms,
                    ends,
                })
            }
            other => Err(EvalError::exec(format!(
                "expected a range vector, got {other}"
            ))),
        }
    }
}
