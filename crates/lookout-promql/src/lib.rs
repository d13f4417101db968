//! A PromQL engine with Prometheus' semantics, pure and synchronous over the
//! [`SeriesSource`] trait (the store behind it is the caller's).
//!
//! Parsing is `promql-parser`'s; evaluation is this crate's: instant and range
//! selectors with the lookback window and staleness, `offset` and `@`, subqueries,
//! arithmetic/comparison/set operators with vector matching, the aggregations and the
//! functions Grafana dashboards use (see [`is_supported_function`]). Anything else valid
//! PromQL is refused up front with [`EvalError::Unsupported`] naming the construct and
//! its position; nothing is approximated.
//!
//! Semantics follow Prometheus 2.x (the version the conformance test runs against):
//! selector windows are closed, `[t - range, t]`, and the lookback window is
//! `[t - lookback, t]`. Prometheus 3 made both left-open.
//!
//! Cost: each selector reads its series once for the whole query; each node does
//! O(series × steps) work. Every sample read and every point produced counts against
//! [`QueryOptions::max_samples`] and, when set, the budget shared by every query in
//! flight ([`QueryOptions::shared`]); [`QueryOptions::timeout`] bounds the wall time.

pub mod budget;
mod error;
mod eval;
pub mod functions;
pub mod labels;
pub mod memory;
pub mod source;
pub mod value;

use std::time::Duration;

use promql_parser::parser::Expr;

pub use error::EvalError;
pub use labels::{Labels, METRIC_NAME};
pub use source::{is_stale, stale_nan, MatchOp, Matcher, RawSeries, SeriesSource, SourceError};
use value::{Steps, Value};

/// Limits and defaults of one query.
#[derive(Debug, Clone)]
pub struct QueryOptions {
    /// How far back an instant selector looks for a sample (Prometheus: 5 minutes).
    pub lookback_ms: i64,
    /// Samples read plus points produced, summed over the query, beyond which it fails.
    pub max_samples: usize,
    /// Wall time the evaluation may take.
    pub timeout: Option<Duration>,
    /// Step of a subquery written without one (`x[1h:]`): Prometheus' global
    /// evaluation interval, 1 minute by default.
    pub subquery_step_ms: i64,
    /// A sample budget shared with the other queries in flight ([`budget`]); `None`:
    /// only `max_samples` bounds this query.
    pub shared: Option<std::sync::Arc<budget::SharedSamples>>,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            lookback_ms: 5 * 60_000,
            max_samples: 50_000_000,
            timeout: Some(Duration::from_secs(120)),
            subquery_step_ms: 60_000,
            shared: None,
        }
    }
}

/// The functions this engine evaluates besides the range functions of
/// `eval::call::RANGE_FUNCTIONS`; see [`is_supported_function`].
const OTHER_FUNCTIONS: &[&str] = &[
    "absent_over_time",
    "histogram_quantile",
    "abs",
    "ceil",
    "floor",
    "round",
    "clamp",
    "clamp_min",
    "clamp_max",
    "exp",
    "ln",
    "log2",
    "log10",
    "sqrt",
    "sgn",
    "time",
    "timestamp",
    "vector",
    "scalar",
    "absent",
    "label_replace",
    "label_join",
    "sort",
    "sort_desc",
];

/// Whether this engine evaluates the function `name`.
pub fn is_supported_function(name: &str) -> bool {
    eval::call::RANGE_FUNCTIONS.contains(&name) || OTHER_FUNCTIONS.contains(&name)
}

/// The answer of an instant query.
#[derive(Debug, Clone, PartialEq)]
pub enum InstantValue {
    Scalar(f64),
    String(String),
    /// Elements in evaluation order (`sort`, `topk` order is kept).
    Vector(Vec<(Labels, f64)>),
    /// A range vector: each series' samples in the window.
    Matrix(Vec<RawSeries>),
}

/// One series of a range query's answer: `(time ms, value)` at the steps it has.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    pub labels: Labels,
    pub points: Vec<(i64, f64)>,
}

/// Parses a query and refuses what this engine does not evaluate.
pub fn parse(query: &str) -> Result<Expr, EvalError> {
    let expr = promql_parser::parser::parse(query).map_err(EvalError::Parse)?;
    check_supported(&expr, query)?;
    Ok(expr)
}

fn unsupported(construct: String, query: &str, needle: &str) -> EvalError {
    EvalError::Unsupported {
        construct,
        position: query.find(needle).unwrap_or(0),
    }
}

fn check_supported(expr: &Expr, query: &str) -> Result<(), EvalError> {
    match expr {
        Expr::Aggregate(a) => {
            use promql_parser::parser::token::{T_LIMITK, T_LIMIT_RATIO};
            if matches!(a.op.id(), T_LIMITK | T_LIMIT_RATIO) {
                let name = a.op.to_string();
                return Err(unsupported(format!("aggregation {name}"), query, &name));
            }
            check_supported(&a.expr, query)?;
            if let Some(p) = &a.param {
                check_supported(p, query)?;
            }
        }
        Expr::Unary(u) => check_supported(&u.expr, query)?,
        Expr::Binary(b) => {
            if let Some(m) = &b.modifier {
                if m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some() {
                    return Err(unsupported(
                        "fill modifiers of binary operators".into(),
                        query,
                        "fill",
                    ));
                }
            }
            check_supported(&b.lhs, query)?;
            check_supported(&b.rhs, query)?;
        }
        Expr::Paren(p) => check_supported(&p.expr, query)?,
        Expr::Subquery(s) => check_supported(&s.expr, query)?,
        Expr::VectorSelector(vs) if !vs.matchers.or_matchers.is_empty() => {
            return Err(unsupported(
                "`or` inside a selector's braces".into(),
                query,
                " or ",
            ));
        }
        Expr::MatrixSelector(ms) if !ms.vs.matchers.or_matchers.is_empty() => {
            return Err(unsupported(
                "`or` inside a selector's braces".into(),
                query,
                " or ",
            ));
        }
        Expr::Call(c) => {
            let name = c.func.name;
            if !is_supported_function(name) {
                return Err(unsupported(format!("function {name}()"), query, name));
            }
            for a in &c.args.args {
                check_supported(a, query)?;
            }
        }
        Expr::Extension(_) => {
            return Err(unsupported("extension expression".into(), query, ""));
        }
        _ => {}
    }
    Ok(())
}

/// Evaluates `query` at `time_ms`.
pub fn instant_query(
    source: &dyn SeriesSource,
    query: &str,
    time_ms: i64,
    options: &QueryOptions,
) -> Result<InstantValue, EvalError> {
    let expr = parse(query)?;
    let mut evaluator = eval::Evaluator::new(source, options, query, time_ms, time_ms);
    Ok(match evaluator.eval(&expr, &Steps::instant(time_ms))? {
        Value::Scalar(v) => InstantValue::Scalar(v[0]),
        Value::String(s) => InstantValue::String(s),
        Value::Vector(series) => InstantValue::Vector(
            series
                .into_iter()
                .filter_map(|s| s.values[0].map(|v| (s.labels, v)))
                .collect(),
        ),
        Value::Matrix(series) => InstantValue::Matrix(series),
    })
}

/// Evaluates `query` at `start`, `start + step`, ... up to `end` (milliseconds); the
/// answer is sorted by labels, as Prometheus sorts it.
pub fn range_query(
    source: &dyn SeriesSource,
    query: &str,
    start_ms: i64,
    end_ms: i64,
    step_ms: i64,
    options: &QueryOptions,
) -> Result<Vec<RangeSeries>, EvalError> {
    range_query_holding(source, query, start_ms, end_ms, step_ms, options).map(|(out, _)| out)
}

/// [`range_query`], with the answer's points kept reserved in the shared pool
/// ([`QueryOptions::shared`]) until the returned [`budget::HeldSamples`] is dropped: a
/// server holds it while the answer is written to the client.
pub fn range_query_holding(
    source: &dyn SeriesSource,
    query: &str,
    start_ms: i64,
    end_ms: i64,
    step_ms: i64,
    options: &QueryOptions,
) -> Result<(Vec<RangeSeries>, budget::HeldSamples), EvalError> {
    if step_ms <= 0 || end_ms < start_ms {
        return Err(EvalError::exec(
            "a range query needs step > 0 and end >= start",
        ));
    }
    let expr = parse(query)?;
    let count = ((end_ms - start_ms) / step_ms + 1) as usize;
    let steps = Steps {
        start: start_ms,
        step: step_ms,
        count,
    };
    let mut evaluator = eval::Evaluator::new(source, options, query, start_ms, end_ms);
    let mut out: Vec<RangeSeries> = match evaluator.eval(&expr, &steps)? {
        Value::Scalar(values) => vec![RangeSeries {
            labels: Labels::default(),
            points: values
                .iter()
                .enumerate()
                .map(|(i, v)| (steps.at(i), *v))
                .collect(),
        }],
        Value::Vector(series) => series
            .into_iter()
            .map(|s| RangeSeries {
                labels: s.labels,
                points: s
                    .values
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.map(|v| (steps.at(i), v)))
                    .collect(),
            })
            .filter(|s| !s.points.is_empty())
            .collect(),
        other => {
            return Err(EvalError::exec(format!(
                "invalid expression type {:?} for range query, must be Scalar or instant Vector",
                other.type_name()
            )))
        }
    };
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    let points = out.iter().map(|s| s.points.len()).sum();
    let held = evaluator.hold(points);
    Ok((out, held))
}
