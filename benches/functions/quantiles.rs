//! Medians and percentiles of a series of measurements.

use std::time::Duration;

#[derive(Clone, Copy, Default)]
pub struct Summary {
    pub median: f64,
    pub p10: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

/// Nearest-rank quantiles; an empty series is all zeros.
pub fn summarize(values: &[f64]) -> Summary {
    if values.is_empty() {
        return Summary::default();
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    Summary {
        median: q(0.5),
        p10: q(0.1),
        p90: q(0.9),
        p99: q(0.99),
        max: v[v.len() - 1],
        mean: v.iter().sum::<f64>() / v.len() as f64,
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
