//! Counters exported at `/metrics` in the Prometheus text format.
//!
//! Metric names are constants here, in one place. The request counter is keyed by the matched
//! route (never the raw path, so ids do not explode the label space).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Requests served, by method, route and status.
pub const HTTP_REQUESTS_TOTAL: &str = "adpool_http_requests_total";
/// Seconds spent serving requests, by method and route.
pub const HTTP_REQUEST_SECONDS_SUM: &str = "adpool_http_request_duration_seconds_sum";
/// Jobs in the queue, by state (read from the database at scrape time).
pub const JOBS: &str = "adpool_jobs";
/// Logins, by outcome.
pub const LOGINS_TOTAL: &str = "adpool_logins_total";
/// Requests refused by a per-client rate limit, by endpoint (`serve`, `login`).
pub const RATE_LIMITED_TOTAL: &str = "adpool_rate_limited_total";

/// (method, route, status) -> (count, seconds)
type RequestCounters = BTreeMap<(String, String, u16), (u64, f64)>;

/// In-process counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<RequestCounters>,
    logins: Mutex<BTreeMap<&'static str, u64>>,
    rate_limited: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// Counts one request.
    pub fn record_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut requests = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default();
        entry.0 += 1;
        entry.1 += seconds;
    }

    /// Counts one login attempt (`success`, `failure`, `throttled`).
    pub fn record_login(&self, outcome: &'static str) {
        count(&self.logins, outcome);
    }

    /// Counts one request refused by a rate limit on `endpoint` (`serve`, `login`).
    pub fn record_rate_limited(&self, endpoint: &'static str) {
        count(&self.rate_limited, endpoint);
    }

    /// Renders all counters plus `jobs_by_state` in the Prometheus text format.
    pub fn render(&self, jobs_by_state: &[(String, i64)]) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP {HTTP_REQUESTS_TOTAL} HTTP requests served.\n# TYPE {HTTP_REQUESTS_TOTAL} counter"
        );
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for ((method, route, status), (count, _)) in requests.iter() {
            let _ = writeln!(
                out,
                "{HTTP_REQUESTS_TOTAL}{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                escape(route)
            );
        }
        let _ = writeln!(
            out,
            "# HELP {HTTP_REQUEST_SECONDS_SUM} Seconds spent serving HTTP requests.\n# TYPE {HTTP_REQUEST_SECONDS_SUM} counter"
        );
        for ((method, route, status), (_, seconds)) in requests.iter() {
            let _ = writeln!(
                out,
                "{HTTP_REQUEST_SECONDS_SUM}{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {seconds:.6}",
                escape(route)
            );
        }
        drop(requests);
        let _ = writeln!(
            out,
            "# HELP {LOGINS_TOTAL} Login attempts by outcome.\n# TYPE {LOGINS_TOTAL} counter"
        );
        for (outcome, count) in self
            .logins
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(out, "{LOGINS_TOTAL}{{outcome=\"{outcome}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "# HELP {RATE_LIMITED_TOTAL} Requests refused by a per-client rate limit.\n# TYPE {RATE_LIMITED_TOTAL} counter"
        );
        for (endpoint, count) in self
            .rate_limited
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "{RATE_LIMITED_TOTAL}{{endpoint=\"{endpoint}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP {JOBS} Jobs in the queue by state.\n# TYPE {JOBS} gauge"
        );
        for (state, count) in jobs_by_state {
            let _ = writeln!(out, "{JOBS}{{state=\"{state}\"}} {count}");
        }
        out
    }
}

fn count(counters: &Mutex<BTreeMap<&'static str, u64>>, label: &'static str) {
    *counters
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .entry(label)
        .or_default() += 1;
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
