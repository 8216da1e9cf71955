//! The summary of a run: human readable lines, or one JSON object with the
//! same fields.

use std::fmt::Write;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::run::{Config, Counts, Stats};

/// Send lag p99 above which the report warns that the generator itself may
/// have limited the run.
const LAG_WARN_US: f64 = 100.0;

/// Everything the report says; the JSON names are stable, snake_case, with
/// their unit in the name.
#[derive(Debug, Serialize)]
pub struct Report {
    pub proto: &'static str,
    pub server: String,
    pub conns: usize,
    /// "fixed" or "poisson".
    pub arrivals: &'static str,
    pub seed: u64,
    pub get_ratio: f64,
    pub keys: u32,
    pub value_size_bytes: usize,
    pub preload: bool,
    /// Polled rather than slept this long before each send (--spin-us).
    pub spin_us: u64,
    pub warmup_s: f64,
    /// The measured part of the run, after the warmup.
    pub duration_s: f64,
    pub offered_rate_rps: f64,
    /// `completed / duration_s`.
    pub achieved_rate_rps: f64,
    /// sent, completed, errors, malformed, missing, gets, hits, misses,
    /// sets, warmup_sent, conns_closed.
    #[serde(flatten)]
    pub counts: Counts,
    pub first_conn_error: Option<String>,
    /// When every connection had closed, in seconds from the start (the
    /// warmup included); null when they stayed open.
    pub all_conns_closed_at_s: Option<f64>,
    /// Latencies from the scheduled send time, null without replies.
    pub latency_mean_us: Option<f64>,
    pub latency_p50_us: Option<f64>,
    pub latency_p90_us: Option<f64>,
    pub latency_p99_us: Option<f64>,
    pub latency_p99_9_us: Option<f64>,
    pub latency_max_us: Option<f64>,
    /// How late the generator sent, null when it sent nothing.
    pub send_lag_p50_us: Option<f64>,
    pub send_lag_p99_us: Option<f64>,
    pub send_lag_max_us: Option<f64>,
    /// Whether the waits between sends had nanosecond resolution
    /// (`epoll_pwait2`) rather than millisecond (`epoll_wait`).
    pub ns_timer: bool,
}

/// Nanoseconds to microseconds, to the nanosecond.
fn us(ns: f64) -> f64 {
    (ns).round() / 1000.0
}

/// The value at quantile `q` (0..=1) in microseconds; `None` when empty.
/// hdrhistogram answers the top of the bucket the value fell in: at most
/// 0.1% above the value itself.
pub fn quantile_us(h: &Histogram<u64>, q: f64) -> Option<f64> {
    (!h.is_empty()).then(|| us(h.value_at_quantile(q) as f64))
}

pub fn max_us(h: &Histogram<u64>) -> Option<f64> {
    (!h.is_empty()).then(|| us(h.max() as f64))
}

pub fn mean_us(h: &Histogram<u64>) -> Option<f64> {
    (!h.is_empty()).then(|| us(h.mean()))
}

impl Report {
    pub fn new(cfg: &Config, s: &Stats) -> Report {
        let duration_s = cfg.duration.as_secs_f64();
        Report {
            proto: cfg.proto.name(),
            server: cfg.server.to_string(),
            conns: cfg.conns,
            arrivals: if cfg.poisson { "poisson" } else { "fixed" },
            seed: cfg.seed,
            get_ratio: cfg.get_ratio,
            keys: cfg.keys,
            value_size_bytes: cfg.value_size,
            preload: cfg.preload,
            spin_us: cfg.spin.as_micros() as u64,
            warmup_s: cfg.warmup.as_secs_f64(),
            duration_s,
            offered_rate_rps: cfg.rate,
            achieved_rate_rps: s.counts.completed as f64 / duration_s,
            counts: s.counts,
            first_conn_error: s.first_close.clone(),
            all_conns_closed_at_s: s.all_closed_at.map(|d| d.as_secs_f64()),
            latency_mean_us: mean_us(&s.latency),
            latency_p50_us: quantile_us(&s.latency, 0.5),
            latency_p90_us: quantile_us(&s.latency, 0.9),
            latency_p99_us: quantile_us(&s.latency, 0.99),
            latency_p99_9_us: quantile_us(&s.latency, 0.999),
            latency_max_us: max_us(&s.latency),
            send_lag_p50_us: quantile_us(&s.send_lag, 0.5),
            send_lag_p99_us: quantile_us(&s.send_lag, 0.99),
            send_lag_max_us: max_us(&s.send_lag),
            ns_timer: s.ns_timeouts,
        }
    }

    pub fn json(&self) -> String {
        // A struct of numbers, strings and options always serializes.
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    pub fn human(&self) -> String {
        let show = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.1}"));
        let c = &self.counts;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "epoll-bp-load: {} at {}, {} connection{}, {} arrivals (seed {}), \
             {} s measured after {} s warmup",
            self.proto,
            self.server,
            self.conns,
            if self.conns == 1 { "" } else { "s" },
            self.arrivals,
            self.seed,
            self.duration_s,
            self.warmup_s
        );
        let _ = writeln!(
            o,
            "  keys {}, value {} B, get ratio {}{}{}",
            self.keys,
            self.value_size_bytes,
            self.get_ratio,
            if self.preload { ", preloaded" } else { "" },
            if self.spin_us > 0 {
                format!(", spinning {} us before each send", self.spin_us)
            } else {
                String::new()
            }
        );
        let _ = writeln!(o, "offered rate     {:.1} req/s", self.offered_rate_rps);
        let _ = writeln!(o, "achieved rate    {:.1} req/s", self.achieved_rate_rps);
        let _ = writeln!(
            o,
            "requests         sent {}  completed {}  errors {} (malformed {})  missing {}",
            c.sent, c.completed, c.errors, c.malformed, c.missing
        );
        let _ = writeln!(
            o,
            "gets             {}  hits {}  misses {}   sets {}",
            c.gets, c.hits, c.misses, c.sets
        );
        let _ = writeln!(
            o,
            "latency us       p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  (mean {})",
            show(self.latency_p50_us),
            show(self.latency_p90_us),
            show(self.latency_p99_us),
            show(self.latency_p99_9_us),
            show(self.latency_max_us),
            show(self.latency_mean_us)
        );
        let _ = writeln!(
            o,
            "send lag us      p50 {}  p99 {}  max {}{}",
            show(self.send_lag_p50_us),
            show(self.send_lag_p99_us),
            show(self.send_lag_max_us),
            if self.ns_timer {
                ""
            } else {
                "  (no epoll_pwait2: millisecond timer)"
            }
        );
        if self.send_lag_p99_us.is_some_and(|l| l > LAG_WARN_US) {
            let _ = writeln!(
                o,
                "WARNING: send lag p99 above {LAG_WARN_US} us: the generator fell behind \
                 its schedule and may be the bottleneck (pin it with --cpu away from the \
                 server, try --spin-us where timer wakeups are slow, or lower --rate)"
            );
        }
        if c.conns_closed > 0 {
            let _ = writeln!(
                o,
                "WARNING: {} connection{} closed; first: {}",
                c.conns_closed,
                if c.conns_closed == 1 { "" } else { "s" },
                self.first_conn_error.as_deref().unwrap_or("?")
            );
        }
        if let Some(at) = self.all_conns_closed_at_s {
            let _ = writeln!(
                o,
                "WARNING: every connection had closed at {at:.3} s: nothing was sent after"
            );
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Proto;
    use std::time::Duration;

    fn stats() -> Stats {
        let h = || {
            let mut h = Histogram::new_with_bounds(1, 60_000_000_000, 3).unwrap();
            h.auto(true);
            h
        };
        Stats {
            counts: Counts {
                sent: 10_000,
                completed: 9_990,
                errors: 4,
                malformed: 1,
                missing: 6,
                gets: 9_000,
                hits: 8_990,
                misses: 7,
                sets: 1_000,
                warmup_sent: 100,
                conns_closed: 1,
            },
            first_close: Some("connection 2: malformed".into()),
            all_closed_at: None,
            latency: h(),
            send_lag: h(),
            ns_timeouts: true,
        }
    }

    fn config() -> Config {
        Config {
            proto: Proto::Redis,
            server: "127.0.0.1:6379".parse().unwrap(),
            rate: 5000.0,
            duration: Duration::from_secs(2),
            warmup: Duration::from_secs(1),
            conns: 4,
            get_ratio: 0.9,
            keys: 1000,
            value_size: 64,
            preload: true,
            cpu: None,
            poisson: false,
            seed: 1,
            drain_timeout: Duration::from_secs(1),
            spin: Duration::ZERO,
        }
    }

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut s = stats();
        // 1 us .. 10000 us, once each.
        for v in 1..=10_000u64 {
            s.latency.record(v * 1000).unwrap();
        }
        s.send_lag.record(3_000).unwrap();
        s.send_lag.record(250_000).unwrap();
        let r = Report::new(&config(), &s);
        let close = |got: Option<f64>, want: f64| {
            let got = got.unwrap();
            assert!((got / want - 1.0).abs() < 0.002, "{got} for {want}");
        };
        close(r.latency_p50_us, 5_000.0);
        close(r.latency_p90_us, 9_000.0);
        close(r.latency_p99_us, 9_900.0);
        close(r.latency_p99_9_us, 9_990.0);
        close(r.latency_max_us, 10_000.0);
        close(r.latency_mean_us, 5_000.5);
        close(r.send_lag_max_us, 250.0);
        close(r.send_lag_p50_us, 3.0);
        assert_eq!(r.achieved_rate_rps, 4995.0);
        let text = r.human();
        assert!(text.contains("achieved rate    4995.0 req/s"), "{text}");
        assert!(text.contains("WARNING: send lag p99"), "{text}");
        assert!(text.contains("connection 2: malformed"), "{text}");
    }

    #[test]
    fn empty_histograms_report_nothing() {
        let r = Report::new(&config(), &stats());
        assert_eq!(r.latency_p99_us, None);
        assert_eq!(r.send_lag_max_us, None);
        assert!(r.human().contains("p99 n/a"));
        assert!(r.json().contains("\"latency_p99_us\":null"));
    }

    #[test]
    fn json_names() {
        let mut s = stats();
        s.latency.record(42_000).unwrap();
        let r = Report::new(&config(), &s);
        let v: serde_json::Value = serde_json::from_str(&r.json()).unwrap();
        for key in [
            "offered_rate_rps",
            "achieved_rate_rps",
            "sent",
            "completed",
            "errors",
            "missing",
            "hits",
            "misses",
            "latency_p50_us",
            "latency_p90_us",
            "latency_p99_us",
            "latency_p99_9_us",
            "latency_max_us",
            "send_lag_p99_us",
            "send_lag_max_us",
        ] {
            assert!(v.get(key).is_some(), "{key} missing from {v}");
        }
        assert_eq!(v["proto"], "redis");
        assert_eq!(v["missing"], 6);
        // The top of the value's bucket: within 0.1%.
        let max = v["latency_max_us"].as_f64().unwrap();
        assert!((42.0..42.042).contains(&max), "{max}");
        assert!(!r.json().contains('\n'));
    }
}
