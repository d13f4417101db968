//! The values one expression node evaluates to, over all the steps of a query at once.
//!
//! A range query of `n` steps evaluates every node once: a scalar becomes `n` numbers, an
//! instant vector a list of [`Series`], each with an optional value per step (label sets
//! do not change between steps, so matching and grouping are computed once per series,
//! not once per step). An instant query is the case `n = 1`.

use std::collections::HashMap;

use crate::error::EvalError;
use crate::labels::Labels;
use crate::source::RawSeries;

/// The evaluation times of a query: `start + i * step` for `i < count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Steps {
    pub start: i64,
    pub step: i64,
    pub count: usize,
}

impl Steps {
    /// One evaluation at `time`.
    pub fn instant(time: i64) -> Steps {
        Steps {
            start: time,
            step: 0,
            count: 1,
        }
    }

    /// The time of step `i`.
    pub fn at(&self, i: usize) -> i64 {
        self.start + self.step * i as i64
    }

    /// The time of the last step.
    pub fn end(&self) -> i64 {
        self.at(self.count.saturating_sub(1))
    }

    pub fn times(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.count).map(|i| self.at(i))
    }
}

/// One series of an instant vector: its labels and its value at each step, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub values: Vec<Option<f64>>,
}

impl Series {
    pub fn present(&self) -> usize {
        self.values.iter().filter(|v| v.is_some()).count()
    }
}

/// What an expression evaluates to.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// One number per step.
    Scalar(Vec<f64>),
    /// An instant vector over the steps.
    Vector(Vec<Series>),
    /// A range vector (the answer of an instant query for `x[5m]` or a subquery): the
    /// samples of each series in the window.
    Matrix(Vec<RawSeries>),
    String(String),
}

impl Value {
    /// The type name Prometheus uses in messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar(_) => "scalar",
            Value::Vector(_) => "instant vector",
            Value::Matrix(_) => "range vector",
            Value::String(_) => "string",
        }
    }
}

/// Assembles an instant vector whose series may come from several inputs: series with
/// the same labels are merged, and two values for one label set at one step are refused
/// as Prometheus refuses them.
pub struct VectorBuilder {
    count: usize,
    index: HashMap<Labels, usize>,
    series: Vec<Series>,
}

impl VectorBuilder {
    pub fn new(count: usize) -> VectorBuilder {
        VectorBuilder {
            count,
            index: HashMap::new(),
            series: Vec::new(),
        }
    }

    /// The slot of a label set, created on first use.
    pub fn slot(&mut self, labels: Labels) -> usize {
        if let Some(slot) = self.index.get(&labels) {
            return *slot;
        }
        let slot = self.series.len();
        self.index.insert(labels.clone(), slot);
        self.series.push(Series {
            labels,
            values: vec![None; self.count],
        });
        slot
    }

    /// Sets a slot's value at a step; a value already there is an error.
    pub fn set(&mut self, slot: usize, step: usize, value: f64) -> Result<(), EvalError> {
        let cell = &mut self.series[slot].values[step];
        if cell.is_some() {
            return Err(EvalError::exec(format!(
                "vector cannot contain metrics with the same labelset {}",
                self.series[slot].labels
            )));
        }
        *cell = Some(value);
        Ok(())
    }

    /// Whether a slot has a value at a step.
    pub fn is_set(&self, slot: usize, step: usize) -> bool {
        self.series[slot].values[step].is_some()
    }

    /// The series that have at least one value.
    pub fn finish(self) -> Vec<Series> {
        self.series
            .into_iter()
            .filter(|s| s.values.iter().any(Option::is_some))
            .collect()
    }
}
