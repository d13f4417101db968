//! Aggregation operators with `by`/`without`: `sum avg min max count group stddev stdvar
//! quantile topk bottomk count_values`, each computed as Prometheus 2.x computes it
//! (incremental mean, Welford variance, Go's heap for `topk`/`bottomk` so that ties pick
//! the same series). Groups are formed once per series; each step folds the series
//! present. Cost: O(series) per step (`quantile` sorts each group's values).

use std::collections::HashMap;

use promql_parser::parser::token;
use promql_parser::parser::{AggregateExpr, LabelModifier};

use super::Evaluator;
use crate::error::EvalError;
use crate::functions::math::{go_quantile, is_valid_label_name};
use crate::labels::Labels;
use crate::value::{Series, Steps, VectorBuilder};

/// Running state of one group at one step.
#[derive(Clone, Copy)]
struct Acc {
    value: f64,
    mean: f64,
    count: f64,
}

impl Evaluator<'_> {
    pub fn eval_aggregate(
        &mut self,
        a: &AggregateExpr,
        steps: &Steps,
    ) -> Result<Vec<Series>, EvalError> {
        let op = a.op.id();
        let (without, grouping): (bool, Vec<String>) = match &a.modifier {
            Some(LabelModifier::Include(l)) => (false, l.labels.clone()),
            Some(LabelModifier::Exclude(l)) => (true, l.labels.clone()),
            None => (false, Vec::new()),
        };
        let group_of = |labels: &Labels| {
            if without {
                labels.drop_labels(&grouping, true)
            } else {
                labels.keep(&grouping)
            }
        };
        match op {
            token::T_TOPK | token::T_BOTTOMK => {
                let param = a
                    .param
                    .as_ref()
                    .ok_or_else(|| EvalError::exec("topk/bottomk need a parameter"))?;
                let k = self.scalar(param, steps)?;
                let input = self.vector(&a.expr, steps)?;
                return top_bottom(op == token::T_TOPK, &k, input, group_of, steps);
            }
            token::T_COUNT_VALUES => {
                let param = a
                    .param
                    .as_ref()
                    .ok_or_else(|| EvalError::exec("count_values needs a label name"))?;
                let label = self.string(param, steps)?;
                if !is_valid_label_name(&label) {
                    return Err(EvalError::exec(format!("invalid label name {label:?}")));
                }
                let input = self.vector(&a.expr, steps)?;
                let mut grouping = grouping.clone();
                if !without {
                    grouping.push(label.clone());
                }
                let mut out = VectorBuilder::new(steps.count);
                let mut counts: HashMap<Labels, (usize, Vec<f64>)> = HashMap::new();
                for s in &input {
                    for (i, v) in s.values.iter().enumerate() {
                        let Some(v) = v else { continue };
                        let mut labels = s.labels.clone();
                        labels.set(&label, &format_go_float(*v));
                        let key = if without {
                            labels.drop_labels(&grouping, true)
                        } else {
                            labels.keep(&grouping)
                        };
                        let entry = counts
                            .entry(key.clone())
                            .or_insert_with(|| (out.slot(key), vec![0.0; steps.count]));
                        entry.1[i] += 1.0;
                    }
                }
                for (slot, row) in counts.into_values() {
                    for (i, c) in row.iter().enumerate() {
                        if *c > 0.0 {
                            out.set(slot, i, *c)?;
                        }
                    }
                }
                return Ok(out.finish());
            }
            _ => {}
        }
        let param = match (&a.param, op) {
            (Some(p), token::T_QUANTILE) => Some(self.scalar(p, steps)?),
            _ => None,
        };
        let input = self.vector(&a.expr, steps)?;
        let mut slots: HashMap<Labels, usize> = HashMap::new();
        let mut out = VectorBuilder::new(steps.count);
        let mut group_slot = Vec::with_capacity(input.len());
        let mut group_ids: Vec<usize> = Vec::with_capacity(input.len());
        for s in &input {
            let labels = group_of(&s.labels);
            let next = slots.len();
            let id = *slots.entry(labels.clone()).or_insert(next);
            if id == group_slot.len() {
                group_slot.push(out.slot(labels));
            }
            group_ids.push(id);
        }
        let groups = group_slot.len();
        let mut accs: Vec<Option<Acc>> = vec![None; groups];
        let mut values: Vec<Vec<f64>> = vec![Vec::new(); groups];
        for i in 0..steps.count {
            self.check_deadline()?;
            accs.iter_mut().for_each(|a| *a = None);
            if op == token::T_QUANTILE {
                values.iter_mut().for_each(Vec::clear);
            }
            for (index, s) in input.iter().enumerate() {
                let Some(v) = s.values[i] else { continue };
                let g = group_ids[index];
                if op == token::T_QUANTILE {
                    values[g].push(v);
                    accs[g] = Some(Acc {
                        value: 0.0,
                        mean: 0.0,
                        count: 1.0,
                    });
                    continue;
                }
                match &mut accs[g] {
                    None => {
                        accs[g] = Some(Acc {
                            value: match op {
                                token::T_COUNT | token::T_GROUP => 1.0,
                                token::T_STDDEV | token::T_STDVAR => 0.0,
                                _ => v,
                            },
                            mean: v,
                            count: 1.0,
                        })
                    }
                    Some(acc) => fold(op, acc, v),
                }
            }
            for g in 0..groups {
                let Some(acc) = accs[g] else { continue };
                let value = match op {
                    token::T_SUM | token::T_MIN | token::T_MAX | token::T_GROUP => acc.value,
                    token::T_COUNT => acc.count,
                    token::T_AVG => acc.mean,
                    token::T_STDVAR => acc.value / acc.count,
                    token::T_STDDEV => (acc.value / acc.count).sqrt(),
                    token::T_QUANTILE => {
                        let q = param.as_ref().map(|p| p[i]).unwrap_or(f64::NAN);
                        go_quantile(q, &mut values[g])
                    }
                    _ => {
                        return Err(
                            self.unsupported(&format!("aggregation {}", a.op), &a.op.to_string())
                        )
                    }
                };
                out.set(group_slot[g], i, value)?;
            }
        }
        Ok(out.finish())
    }
}

fn fold(op: u16, acc: &mut Acc, v: f64) {
    acc.count += 1.0;
    match op {
        token::T_SUM => acc.value += v,
        token::T_MAX if acc.value < v || acc.value.is_nan() => acc.value = v,
        token::T_MIN if acc.value > v || acc.value.is_nan() => acc.value = v,
        token::T_AVG => {
            if acc.mean.is_infinite() {
                if v.is_infinite() && (acc.mean > 0.0) == (v > 0.0) {
                    return;
                }
                if !v.is_infinite() && !v.is_nan() {
                    return;
                }
            }
            acc.mean += v / acc.count - acc.mean / acc.count;
        }
        token::T_STDDEV | token::T_STDVAR => {
            let delta = v - acc.mean;
            acc.mean += delta / acc.count;
            acc.value += delta * (v - acc.mean);
        }
        _ => {}
    }
}

/// `strconv.FormatFloat(v, 'f', -1, 64)`.
pub(crate) fn format_go_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        v.to_string()
    }
}

/// Go's `container/heap` over `(series index, value)` with Prometheus' orderings.
struct GoHeap {
    items: Vec<(usize, f64)>,
    top: bool,
}

impl GoHeap {
    /// `vectorByValueHeap` (topk) or `vectorByReverseValueHeap` (bottomk) `Less`.
    fn less(&self, i: usize, j: usize) -> bool {
        let (a, b) = (self.items[i].1, self.items[j].1);
        if a.is_nan() {
            return true;
        }
        if self.top {
            a < b
        } else {
            a > b
        }
    }

    fn up(&mut self, mut j: usize) {
        while j > 0 {
            let i = (j - 1) / 2;
            if !self.less(j, i) {
                break;
            }
            self.items.swap(i, j);
            j = i;
        }
    }

    /// `down(h, i0, n)`: sifts within the first `n` items.
    fn down(&mut self, i0: usize, n: usize) {
        let mut i = i0;
        loop {
            let j1 = 2 * i + 1;
            if j1 >= n {
                break;
            }
            let mut j = j1;
            if j1 + 1 < n && self.less(j1 + 1, j1) {
                j = j1 + 1;
            }
            if !self.less(j, i) {
                break;
            }
            self.items.swap(i, j);
            i = j;
        }
    }

    fn push(&mut self, item: (usize, f64)) {
        self.items.push(item);
        let last = self.items.len() - 1;
        self.up(last);
    }

    /// `heap.Pop`: swaps the root with the last item, sifts the rest, drops the last.
    fn pop(&mut self) {
        let n = self.items.len() - 1;
        self.items.swap(0, n);
        self.down(0, n);
        self.items.pop();
    }
}

fn top_bottom(
    top: bool,
    k: &[f64],
    input: Vec<Series>,
    group_of: impl Fn(&Labels) -> Labels,
    steps: &Steps,
) -> Result<Vec<Series>, EvalError> {
    let mut ids: HashMap<Labels, usize> = HashMap::new();
    let group_ids: Vec<usize> = input
        .iter()
        .map(|s| {
            let next = ids.len();
            *ids.entry(group_of(&s.labels)).or_insert(next)
        })
        .collect();
    let mut out = VectorBuilder::new(steps.count);
    let slots: Vec<usize> = input.iter().map(|s| out.slot(s.labels.clone())).collect();
    let mut heaps: Vec<GoHeap> = (0..ids.len())
        .map(|_| GoHeap {
            items: Vec::new(),
            top,
        })
        .collect();
    for i in 0..steps.count {
        let k = k[i];
        if k.is_nan() || k < 1.0 {
            continue;
        }
        let k = if k >= 9.2e18 {
            usize::MAX
        } else {
            k as i64 as usize
        };
        heaps.iter_mut().for_each(|h| h.items.clear());
        for (index, s) in input.iter().enumerate() {
            let Some(v) = s.values[i] else { continue };
            let heap = &mut heaps[group_ids[index]];
            if heap.items.len() < k {
                heap.push((index, v));
                continue;
            }
            let root = heap.items[0].1;
            let replace = if top {
                root < v || (root.is_nan() && !v.is_nan())
            } else {
                root > v || (root.is_nan() && !v.is_nan())
            };
            // Prometheus 2.x pops the smallest and pushes the newcomer (not an overwrite
            // of the root and a `Fix`): among equal values the two keep different series.
            if replace {
                heap.pop();
                heap.push((index, v));
            }
        }
        for heap in &heaps {
            for (index, v) in &heap.items {
                out.set(slots[*index], i, *v)?;
            }
        }
    }
    Ok(out.finish())
}
