//! Prometheus metrics: GraphQL requests and their latency by operation and outcome. Small
//! enough to write by hand, and it keeps the label set bounded (unknown operation names fold
//! into `other`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Latency bucket bounds in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// Distinct operation names tracked before new ones fold into `other`.
const MAX_OPERATIONS: usize = 200;

#[derive(Default, Clone)]
struct Series {
    count: u64,
    sum_seconds: f64,
    buckets: [u64; BUCKETS.len()],
}

/// The registry; one per process, shared by every request.
#[derive(Default)]
pub struct Metrics {
    series: Mutex<HashMap<(String, &'static str), Series>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn label_safe(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl Metrics {
    /// Records one GraphQL operation.
    pub fn observe(&self, operation: Option<&str>, outcome: &'static str, took: Duration) {
        let mut map = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let name = match operation {
            Some(n) if label_safe(n) => n,
            Some(_) => "other",
            None => "anonymous",
        };
        let known = map.contains_key(&(name.to_owned(), outcome));
        let name = if !known && map.len() >= MAX_OPERATIONS {
            "other"
        } else {
            name
        };
        let s = map.entry((name.to_owned(), outcome)).or_default();
        let secs = took.as_secs_f64();
        s.count += 1;
        s.sum_seconds += secs;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                s.buckets[i] += 1;
            }
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let map = self
            .series
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut keys: Vec<_> = map.keys().cloned().collect();
        keys.sort();
        let mut out = String::new();
        out.push_str("# HELP lms_graphql_requests_total GraphQL operations by name and outcome.\n");
        out.push_str("# TYPE lms_graphql_requests_total counter\n");
        for k in &keys {
            let s = &map[k];
            let _ = writeln!(
                out,
                "lms_graphql_requests_total{{operation=\"{}\",outcome=\"{}\"}} {}",
                k.0, k.1, s.count
            );
        }
        out.push_str("# HELP lms_graphql_request_duration_seconds GraphQL operation latency.\n");
        out.push_str("# TYPE lms_graphql_request_duration_seconds histogram\n");
        for k in &keys {
            let s = &map[k];
            let labels = format!("operation=\"{}\",outcome=\"{}\"", k.0, k.1);
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "lms_graphql_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "lms_graphql_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "lms_graphql_request_duration_seconds_sum{{{labels}}} {}",
                s.sum_seconds
            );
            let _ = writeln!(
                out,
                "lms_graphql_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_counted_with_bounded_labels() {
        let m = Metrics::default();
        m.observe(Some("Me"), "ok", Duration::from_millis(3));
        m.observe(Some("Me"), "ok", Duration::from_millis(30));
        m.observe(Some("bad\"name"), "error", Duration::from_millis(1));
        let text = m.render();
        assert!(text.contains("lms_graphql_requests_total{operation=\"Me\",outcome=\"ok\"} 2"));
        assert!(text.contains("operation=\"other\",outcome=\"error\""));
        assert!(text.contains("lms_graphql_request_duration_seconds_bucket{operation=\"Me\",outcome=\"ok\",le=\"0.005\"} 1"));
    }
}
