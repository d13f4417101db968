//! The evaluator: walks the parsed expression once per node over all steps of a query.
//!
//! Selectors read the store once for the whole query span; each node then computes its
//! value at every step (see [`crate::value`]). Cost: the samples read plus, per node,
//! O(series × steps) work, checked against the sample budget and the deadline as it goes.

mod aggregate;
mod binary;
pub(crate) mod call;
mod selector;

use std::time::Instant;

use promql_parser::parser::{AtModifier, Expr, Offset};

use crate::error::EvalError;
use crate::source::{RawSeries, SeriesSource};
use crate::value::{Series, Steps, Value};
use crate::QueryOptions;

/// A range vector argument: each series' samples (stale markers removed) and, per step,
/// the end of its window `[end - range, end]`.
pub(crate) struct Windows {
    pub series: Vec<RawSeries>,
    pub range_ms: i64,
    pub ends: Vec<i64>,
}

impl Windows {
    /// The samples of `series` in the window of step `i`.
    pub fn window(&self, series: usize, i: usize) -> &[(i64, f64)] {
        let samples = &self.series[series].samples;
        let end = self.ends[i];
        let from = samples.partition_point(|(t, _)| *t < end - self.range_ms);
        let to = samples.partition_point(|(t, _)| *t <= end);
        &samples[from..to.max(from)]
    }
}

pub(crate) struct Evaluator<'a> {
    pub source: &'a dyn SeriesSource,
    pub options: &'a QueryOptions,
    /// The query's own start and end (what `@ start()` and `@ end()` mean).
    pub query_start: i64,
    pub query_end: i64,
    pub text: &'a str,
    started: Instant,
    samples: usize,
    /// Samples reserved from the shared budget (`options.shared`), given back on drop.
    reserved: usize,
    checks: u32,
}

impl Drop for Evaluator<'_> {
    fn drop(&mut self) {
        if let Some(shared) = &self.options.shared {
            shared.give_back(self.reserved);
        }
    }
}

impl<'a> Evaluator<'a> {
    pub fn new(
        source: &'a dyn SeriesSource,
        options: &'a QueryOptions,
        text: &'a str,
        query_start: i64,
        query_end: i64,
    ) -> Evaluator<'a> {
        Evaluator {
            source,
            options,
            query_start,
            query_end,
            text,
            started: Instant::now(),
            samples: 0,
            reserved: 0,
            checks: 0,
        }
    }

    /// Keeps up to `points` of the samples reserved from the shared pool past the end of
    /// the evaluation, for the answer that holds them (the rest is given back on drop).
    pub fn hold(&mut self, points: usize) -> crate::budget::HeldSamples {
        let Some(shared) = &self.options.shared else {
            return crate::budget::HeldSamples::none();
        };
        let kept = points.min(self.reserved);
        self.reserved -= kept;
        crate::budget::HeldSamples::taken(std::sync::Arc::clone(shared), kept)
    }

    /// Counts `n` samples or points against the budget.
    pub fn account(&mut self, n: usize) -> Result<(), EvalError> {
        self.samples = self.samples.saturating_add(n);
        if self.samples > self.options.max_samples {
            return Err(EvalError::TooManySamples {
                limit: self.options.max_samples,
            });
        }
        if let Some(shared) = &self.options.shared {
            if self.samples > self.reserved {
                let needed = self.samples - self.reserved;
                // Reserve ahead (but never past the per-query budget); when the pool
                // has not that much left, only what is needed now.
                let ahead = needed
                    .max(crate::budget::RESERVE_STEP)
                    .min(self.options.max_samples.saturating_sub(self.reserved))
                    .max(needed);
                let step = if shared.take(ahead) {
                    ahead
                } else if shared.take(needed) {
                    needed
                } else {
                    return Err(EvalError::Overloaded {
                        limit: shared.limit(),
                    });
                };
                self.reserved += step;
            }
        }
        Ok(())
    }

    /// Fails once the deadline has passed (cheap: looks at the clock every 64th call).
    pub fn check_deadline(&mut self) -> Result<(), EvalError> {
        self.checks = self.checks.wrapping_add(1);
        if self.checks % 64 != 1 {
            return Ok(());
        }
        if let Some(timeout) = self.options.timeout {
            if self.started.elapsed() > timeout {
                return Err(EvalError::Timeout {
                    timeout_ms: timeout.as_millis() as u64,
                });
            }
        }
        Ok(())
    }

    /// Where `needle` first occurs in the query text (0 when it does not).
    pub fn position_of(&self, needle: &str) -> usize {
        self.text.find(needle).unwrap_or(0)
    }

    pub fn unsupported(&self, construct: &str, needle: &str) -> EvalError {
        EvalError::Unsupported {
            construct: construct.to_string(),
            position: self.position_of(needle),
        }
    }

    /// The times a selector with `at` and `offset` reads at, per step.
    pub fn reference_times(
        &self,
        steps: &Steps,
        at: &Option<AtModifier>,
        offset: &Option<Offset>,
    ) -> Vec<i64> {
        let offset_ms = match offset {
            None => 0,
            Some(Offset::Pos(d)) => d.as_millis() as i64,
            Some(Offset::Neg(d)) => -(d.as_millis() as i64),
        };
        let fixed = at.as_ref().map(|at| match at {
            AtModifier::Start => self.query_start,
            AtModifier::End => self.query_end,
            AtModifier::At(time) => system_time_ms(*time),
        });
        steps
            .times()
            .map(|t| fixed.unwrap_or(t) - offset_ms)
            .collect()
    }

    pub fn eval(&mut self, expr: &Expr, steps: &Steps) -> Result<Value, EvalError> {
        self.check_deadline()?;
        let value = match expr {
            Expr::NumberLiteral(n) => Value::Scalar(vec![n.val; steps.count]),
            Expr::StringLiteral(s) => Value::String(s.val.clone()),
            Expr::Paren(p) => self.eval(&p.expr, steps)?,
            Expr::Unary(u) => match self.eval(&u.expr, steps)? {
                Value::Scalar(values) => Value::Scalar(values.into_iter().map(|v| -v).collect()),
                Value::Vector(series) => {
                    let mut out = crate::value::VectorBuilder::new(steps.count);
                    for s in series {
                        let slot = out.slot(s.labels.without_name());
                        for (i, v) in s.values.iter().enumerate() {
                            if let Some(v) = v {
                                out.set(slot, i, -v)?;
                            }
                        }
                    }
                    Value::Vector(out.finish())
                }
                other => {
                    return Err(EvalError::exec(format!(
                        "unary minus only applies to scalars and instant vectors, not a {}",
                        other.type_name()
                    )))
                }
            },
            Expr::VectorSelector(vs) => Value::Vector(self.select_vector(vs, steps, false)?),
            Expr::MatrixSelector(_) | Expr::Subquery(_) => {
                if steps.count != 1 {
                    return Err(EvalError::exec(
                        "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector",
                    ));
                }
                let windows = self.eval_windows(expr, steps)?;
                let series = (0..windows.series.len())
                    .map(|s| RawSeries {
                        labels: windows.series[s].labels.clone(),
                        samples: windows.window(s, 0).to_vec(),
                    })
                    .filter(|s| !s.samples.is_empty())
                    .collect();
                Value::Matrix(series)
            }
            Expr::Binary(b) => self.eval_binary(b, steps)?,
            Expr::Aggregate(a) => Value::Vector(self.eval_aggregate(a, steps)?),
            Expr::Call(c) => self.eval_call(c, steps)?,
            Expr::Extension(_) => return Err(self.unsupported("extension expression", "")),
        };
        if let Value::Vector(series) = &value {
            let points: usize = series.iter().map(Series::present).sum();
            self.account(points)?;
        }
        Ok(value)
    }

    /// Evaluates an expression that must be an instant vector.
    pub fn vector(&mut self, expr: &Expr, steps: &Steps) -> Result<Vec<Series>, EvalError> {
        match self.eval(expr, steps)? {
            Value::Vector(series) => Ok(series),
            other => Err(EvalError::exec(format!(
                "expected an instant vector, got a {}",
                other.type_name()
            ))),
        }
    }

    /// Evaluates an expression that must be a scalar.
    pub fn scalar(&mut self, expr: &Expr, steps: &Steps) -> Result<Vec<f64>, EvalError> {
        match self.eval(expr, steps)? {
            Value::Scalar(values) => Ok(values),
            other => Err(EvalError::exec(format!(
                "expected a scalar, got a {}",
                other.type_name()
            ))),
        }
    }

    /// Evaluates an expression that must be a string literal.
    pub fn string(&mut self, expr: &Expr, steps: &Steps) -> Result<String, EvalError> {
        match self.eval(expr, steps)? {
            Value::String(text) => Ok(text),
            other => Err(EvalError::exec(format!(
                "expected a string, got a {}",
                other.type_name()
            ))),
        }
    }
}

pub(crate) fn system_time_ms(time: std::time::SystemTime) -> i64 {
    match time.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

/// Strips parentheses around an expression.
pub(crate) fn unwrap_parens(mut expr: &Expr) -> &Expr {
    while let Expr::Paren(p) = expr {
        expr = &p.expr;
    }
    expr
}
