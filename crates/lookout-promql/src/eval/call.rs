//! Function calls: range-vector functions per window, element-wise math, label
//! manipulation, `histogram_quantile`, `absent*`, `scalar`, `vector`, `time`,
//! `timestamp`, `sort*`. Every function but `last_over_time`, `label_*`, `sort*` drops
//! `__name__`, as Prometheus does.

use std::collections::HashMap;

use promql_parser::parser::{Call, Expr};
use regex::Regex;

use super::{unwrap_parens, Evaluator};
use crate::error::EvalError;
use crate::functions::histogram::{bucket_quantile, Bucket};
use crate::functions::math::{go_max, go_min, is_valid_label_name, round_to};
use crate::functions::range::{self, Window};
use crate::labels::{Labels, METRIC_NAME};
use crate::value::{Series, Steps, Value, VectorBuilder};

/// The functions of a range vector evaluated by [`range::Window`]s (the rest of
/// [`crate::is_supported_function`] is matched by name in `eval_call`).
pub(crate) const RANGE_FUNCTIONS: &[&str] = &[
    "rate",
    "irate",
    "increase",
    "delta",
    "idelta",
    "deriv",
    "predict_linear",
    "resets",
    "changes",
    "avg_over_time",
    "sum_over_time",
    "count_over_time",
    "min_over_time",
    "max_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "quantile_over_time",
    "last_over_time",
    "present_over_time",
];

impl Evaluator<'_> {
    pub fn eval_call(&mut self, c: &Call, steps: &Steps) -> Result<Value, EvalError> {
        let name = c.func.name;
        let args: Vec<&Expr> = c.args.args.iter().map(|a| a.as_ref()).collect();
        if RANGE_FUNCTIONS.contains(&name) {
            return self.range_function(name, &args, steps).map(Value::Vector);
        }
        let count = steps.count;
        match name {
            "time" => Ok(Value::Scalar(
                steps.times().map(|t| t as f64 / 1000.0).collect(),
            )),
            "vector" => {
                let values = self.scalar(args[0], steps)?;
                Ok(Value::Vector(vec![Series {
                    labels: Labels::default(),
                    values: values.into_iter().map(Some).collect(),
                }]))
            }
            "scalar" => {
                let input = self.vector(args[0], steps)?;
                let mut out = vec![f64::NAN; count];
                for (i, o) in out.iter_mut().enumerate() {
                    let mut present = input.iter().filter_map(|s| s.values[i]);
                    if let (Some(v), None) = (present.next(), present.next()) {
                        *o = v;
                    }
                }
                Ok(Value::Scalar(out))
            }
            "timestamp" => {
                let input = match unwrap_parens(args[0]) {
                    Expr::VectorSelector(vs) => self.select_vector(vs, steps, true)?,
                    other => {
                        let mut input = self.vector(other, steps)?;
                        for s in &mut input {
                            for (i, v) in s.values.iter_mut().enumerate() {
                                if v.is_some() {
                                    *v = Some(steps.at(i) as f64 / 1000.0);
                                }
                            }
                        }
                        input
                    }
                };
                map_values(input, count, |_, v| Some(v))
            }
            "abs" | "ceil" | "floor" | "exp" | "ln" | "log2" | "log10" | "sqrt" | "sgn" => {
                let f: fn(f64) -> f64 = match name {
                    "abs" => f64::abs,
                    "ceil" => f64::ceil,
                    "floor" => f64::floor,
                    "exp" => f64::exp,
                    "ln" => f64::ln,
                    "log2" => f64::log2,
                    "log10" => f64::log10,
                    "sqrt" => f64::sqrt,
                    _ => |v: f64| {
                        if v > 0.0 {
                            1.0
                        } else if v < 0.0 {
                            -1.0
                        } else {
                            v
                        }
                    },
                };
                let input = self.vector(args[0], steps)?;
                map_values(input, count, |_, v| Some(f(v)))
            }
            "round" => {
                let input = self.vector(args[0], steps)?;
                let to = match args.get(1) {
                    Some(a) => self.scalar(a, steps)?,
                    None => vec![1.0; count],
                };
                map_values(input, count, |i, v| Some(round_to(v, to[i])))
            }
            "clamp" => {
                let input = self.vector(args[0], steps)?;
                let min = self.scalar(args[1], steps)?;
                let max = self.scalar(args[2], steps)?;
                map_values(input, count, |i, v| {
                    (max[i] >= min[i] || max[i].is_nan() || min[i].is_nan())
                        .then(|| go_max(min[i], go_min(max[i], v)))
                })
            }
            "clamp_min" | "clamp_max" => {
                let input = self.vector(args[0], steps)?;
                let bound = self.scalar(args[1], steps)?;
                let is_min = name == "clamp_min";
                map_values(input, count, |i, v| {
                    Some(if is_min {
                        go_max(v, bound[i])
                    } else {
                        go_min(v, bound[i])
                    })
                })
            }
            "absent" => {
                let input = self.vector(args[0], steps)?;
                Ok(Value::Vector(self.absent(args[0], count, |i| {
                    input.iter().any(|s| s.values[i].is_some())
                })))
            }
            "absent_over_time" => {
                let windows = self.eval_windows(args[0], steps)?;
                let present: Vec<bool> = (0..count)
                    .map(|i| (0..windows.series.len()).any(|s| !windows.window(s, i).is_empty()))
                    .collect();
                Ok(Value::Vector(self.absent(args[0], count, |i| present[i])))
            }
            "sort" | "sort_desc" => {
                let mut input = self.vector(args[0], steps)?;
                if count == 1 {
                    let desc = name == "sort_desc";
                    input.sort_by(|a, b| {
                        let (x, y) = (
                            a.values[0].unwrap_or(f64::NAN),
                            b.values[0].unwrap_or(f64::NAN),
                        );
                        match (x.is_nan(), y.is_nan()) {
                            (true, true) => std::cmp::Ordering::Equal,
                            (true, false) => std::cmp::Ordering::Greater,
                            (false, true) => std::cmp::Ordering::Less,
                            _ if desc => y.partial_cmp(&x).unwrap_or(std::cmp::Ordering::Equal),
                            _ => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
                        }
                    });
                }
                Ok(Value::Vector(input))
            }
            "label_replace" => {
                let input = self.vector(args[0], steps)?;
                let dst = self.string(args[1], steps)?;
                let replacement = self.string(args[2], steps)?;
                let src = self.string(args[3], steps)?;
                let pattern = self.string(args[4], steps)?;
                let regex = Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
                    EvalError::exec(format!(
                        "invalid regular expression in label_replace(): {pattern}: {e}"
                    ))
                })?;
                if !is_valid_label_name(&dst) {
                    return Err(EvalError::exec(format!(
                        "invalid destination label name in label_replace(): {dst}"
                    )));
                }
                relabel(input, count, |labels| {
                    let value = labels.get(&src).unwrap_or("");
                    if let Some(captures) = regex.captures(value) {
                        let mut out = String::new();
                        captures.expand(&replacement, &mut out);
                        let mut labels = labels.clone();
                        labels.set(&dst, &out);
                        labels
                    } else {
                        labels.clone()
                    }
                })
            }
            "label_join" => {
                let input = self.vector(args[0], steps)?;
                let dst = self.string(args[1], steps)?;
                let sep = self.string(args[2], steps)?;
                let mut sources = Vec::new();
                for a in &args[3..] {
                    let src = self.string(a, steps)?;
                    if !is_valid_label_name(&src) {
                        return Err(EvalError::exec(format!(
                            "invalid source label name in label_join(): {src}"
                        )));
                    }
                    sources.push(src);
                }
                if !is_valid_label_name(&dst) {
                    return Err(EvalError::exec(format!(
                        "invalid destination label name in label_join(): {dst}"
                    )));
                }
                relabel(input, count, |labels| {
                    let joined: Vec<&str> = sources
                        .iter()
                        .map(|s| labels.get(s).unwrap_or(""))
                        .collect();
                    let mut labels = labels.clone();
                    labels.set(&dst, &joined.join(&sep));
                    labels
                })
            }
            "histogram_quantile" => {
                let q = self.scalar(args[0], steps)?;
                let input = self.vector(args[1], steps)?;
                self.histogram_quantile(&q, input, count).map(Value::Vector)
            }
            other => Err(self.unsupported(&format!("function {other}()"), other)),
        }
    }

    /// `absent`/`absent_over_time`: 1 at the steps where the input has nothing, labelled
    /// from the selector's equality matchers.
    fn absent(&self, arg: &Expr, count: usize, present: impl Fn(usize) -> bool) -> Vec<Series> {
        let mut labels = Labels::default();
        let vs = match arg {
            Expr::VectorSelector(vs) => Some(vs),
            Expr::MatrixSelector(ms) => Some(&ms.vs),
            _ => None,
        };
        if let Some(vs) = vs {
            let mut seen: Vec<&str> = Vec::new();
            for m in &vs.matchers.matchers {
                if m.name == METRIC_NAME {
                    continue;
                }
                if matches!(m.op, promql_parser::label::MatchOp::Equal)
                    && !seen.contains(&m.name.as_str())
                {
                    labels.set(&m.name, &m.value);
                    seen.push(&m.name);
                } else {
                    labels.remove(&m.name);
                }
            }
        }
        let values: Vec<Option<f64>> = (0..count).map(|i| (!present(i)).then_some(1.0)).collect();
        if values.iter().all(Option::is_none) {
            return Vec::new();
        }
        vec![Series { labels, values }]
    }

    fn range_function(
        &mut self,
        name: &str,
        args: &[&Expr],
        steps: &Steps,
    ) -> Result<Vec<Series>, EvalError> {
        let (range_arg, param) = match name {
            "quantile_over_time" => (args[1], Some(self.scalar(args[0], steps)?)),
            "predict_linear" => (args[0], Some(self.scalar(args[1], steps)?)),
            _ => (args[0], None),
        };
        let windows = self.eval_windows(range_arg, steps)?;
        let keep_name = name == "last_over_time";
        let mut out = VectorBuilder::new(steps.count);
        for s in 0..windows.series.len() {
            self.check_deadline()?;
            let labels = &windows.series[s].labels;
            let labels = if keep_name {
                labels.clone()
            } else {
                labels.without_name()
            };
            let slot = out.slot(labels);
            for i in 0..steps.count {
                let samples = windows.window(s, i);
                if samples.is_empty() {
                    continue;
                }
                let w = Window {
                    end_ms: windows.ends[i],
                    range_ms: windows.range_ms,
                    eval_ms: steps.at(i),
                };
                let p = param.as_ref().map(|p| p[i]).unwrap_or(f64::NAN);
                let value = match name {
                    "rate" => range::extrapolated_rate(samples, w, true, true),
                    "increase" => range::extrapolated_rate(samples, w, true, false),
                    "delta" => range::extrapolated_rate(samples, w, false, false),
                    "irate" => range::instant_value(samples, true),
                    "idelta" => range::instant_value(samples, false),
                    "deriv" => range::deriv(samples),
                    "predict_linear" => range::predict_linear(samples, w, p),
                    "resets" => Some(range::resets(samples)),
                    "changes" => Some(range::changes(samples)),
                    "avg_over_time" => Some(range::avg_over_time(samples)),
                    "sum_over_time" => Some(range::sum_over_time(samples)),
                    "count_over_time" => Some(samples.len() as f64),
                    "min_over_time" => Some(range::min_over_time(samples)),
                    "max_over_time" => Some(range::max_over_time(samples)),
                    "stdvar_over_time" => Some(range::stdvar_over_time(samples)),
                    "stddev_over_time" => Some(range::stdvar_over_time(samples).sqrt()),
                    "quantile_over_time" => Some(range::quantile_over_time(samples, p)),
                    "last_over_time" => Some(samples[samples.len() - 1].1),
                    _ => Some(1.0),
                };
                if let Some(value) = value {
                    out.set(slot, i, value)?;
                }
            }
        }
        Ok(out.finish())
    }

    fn histogram_quantile(
        &mut self,
        q: &[f64],
        input: Vec<Series>,
        count: usize,
    ) -> Result<Vec<Series>, EvalError> {
        // Series grouped by their labels without `le` and `__name__`.
        let mut groups: HashMap<Labels, Vec<(f64, usize)>> = HashMap::new();
        for (index, s) in input.iter().enumerate() {
            let Some(le) = s.labels.get("le") else {
                continue;
            };
            let Some(upper) = parse_go_float(le) else {
                continue;
            };
            let key = s.labels.drop_labels(&["le".to_string()], true);
            groups.entry(key).or_default().push((upper, index));
        }
        let mut out = VectorBuilder::new(count);
        let mut buckets = Vec::new();
        for (labels, members) in groups {
            self.check_deadline()?;
            let slot = out.slot(labels);
            for (i, q) in q.iter().enumerate() {
                buckets.clear();
                buckets.extend(members.iter().filter_map(|(upper, index)| {
                    input[*index].values[i].map(|count| Bucket {
                        upper: *upper,
                        count,
                    })
                }));
                if buckets.is_empty() {
                    continue;
                }
                out.set(slot, i, bucket_quantile(*q, &mut buckets))?;
            }
        }
        Ok(out.finish())
    }
}

/// Go's `strconv.ParseFloat` for bucket bounds (`+Inf`, `1e-3`, ...).
fn parse_go_float(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok()
}

/// Applies `f` to every value, dropping `__name__`; `None` removes the element.
fn map_values(
    input: Vec<Series>,
    count: usize,
    f: impl Fn(usize, f64) -> Option<f64>,
) -> Result<Value, EvalError> {
    let mut out = VectorBuilder::new(count);
    for s in input {
        let slot = out.slot(s.labels.without_name());
        for (i, v) in s.values.iter().enumerate() {
            if let Some(v) = v.and_then(|v| f(i, v)) {
                out.set(slot, i, v)?;
            }
        }
    }
    Ok(Value::Vector(out.finish()))
}

/// Rewrites every series' labels (values unchanged), refusing clashes at a step.
fn relabel(
    input: Vec<Series>,
    count: usize,
    f: impl Fn(&Labels) -> Labels,
) -> Result<Value, EvalError> {
    let mut out = VectorBuilder::new(count);
    for s in input {
        let slot = out.slot(f(&s.labels));
        for (i, v) in s.values.iter().enumerate() {
            if let Some(v) = v {
                out.set(slot, i, *v)?;
            }
        }
    }
    Ok(Value::Vector(out.finish()))
}
