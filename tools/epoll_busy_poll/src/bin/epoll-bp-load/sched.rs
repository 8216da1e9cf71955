//! When requests are due, and which key and operation each one gets: both
//! deterministic from the seed.

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough to
/// draw keys and arrival gaps; not for anything secret.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, n) (multiply-shift: the bias is below 2^-32).
    pub fn below(&mut self, n: u32) -> u32 {
        (((self.next_u64() >> 32) * u64::from(n)) >> 32) as u32
    }
}

/// The scheduled send times, in nanoseconds from the start of the run: every
/// 1/rate seconds, or with exponentially distributed gaps of mean 1/rate (a
/// Poisson process) drawn from the seed.
#[derive(Clone, Debug)]
pub struct Schedule {
    rate: f64,
    poisson: Option<Rng>,
    i: u64,
    t: f64,
}

impl Schedule {
    /// `rate` in requests per second, finite and above zero.
    pub fn new(rate: f64, poisson: bool, seed: u64) -> Schedule {
        Schedule {
            rate,
            poisson: poisson.then(|| Rng::new(seed)),
            i: 0,
            t: 0.0,
        }
    }
}

impl Iterator for Schedule {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let secs = match &mut self.poisson {
            // Request i at i/rate, computed from i rather than summed so the
            // error does not grow: R*T requests fall in [0, T).
            None => self.i as f64 / self.rate,
            Some(rng) => {
                let at = self.t;
                // 1 - u is in (0, 1]: the logarithm is finite.
                self.t += -(1.0 - rng.next_f64()).ln() / self.rate;
                at
            }
        };
        self.i += 1;
        Some((secs * 1e9) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many requests are scheduled in the first `secs` seconds.
    fn count(s: Schedule, secs: f64) -> usize {
        let end = (secs * 1e9) as u64;
        s.take_while(|&t| t < end).count()
    }

    #[test]
    fn fixed_rate_gives_rate_times_duration() {
        for (rate, secs, want) in [
            (2000.0, 1.0, 2000),
            (1.0, 10.0, 10),
            (333.0, 3.0, 999),
            (3.5, 2.0, 7),
            (5000.0, 0.1, 500),
            (20000.0, 10.0, 200_000),
            (1e6, 3.0, 3_000_000),
        ] {
            assert_eq!(count(Schedule::new(rate, false, 1), secs), want, "{rate}/s");
        }
        let t: Vec<u64> = Schedule::new(4.0, false, 1).take(5).collect();
        assert_eq!(t, [0, 250_000_000, 500_000_000, 750_000_000, 1_000_000_000]);
    }

    #[test]
    fn poisson_mean_and_spread() {
        let rate = 10_000.0;
        let n = 200_000;
        let t: Vec<u64> = Schedule::new(rate, true, 7).take(n + 1).collect();
        let gaps: Vec<f64> = t.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
        let mean = gaps.iter().sum::<f64>() / n as f64;
        let want = 1e9 / rate;
        assert!((mean / want - 1.0).abs() < 0.01, "mean gap {mean} ns");
        // Exponential: the standard deviation equals the mean.
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / n as f64;
        assert!((var.sqrt() / mean - 1.0).abs() < 0.02, "sd {}", var.sqrt());
        assert!(t.windows(2).all(|w| w[0] <= w[1]));
        // Count over 10 s: 100000 expected, sd 316.
        let c = count(Schedule::new(rate, true, 11), 10.0) as f64;
        assert!((c - 100_000.0).abs() < 2_000.0, "{c} in 10 s");
    }

    #[test]
    fn poisson_is_deterministic_per_seed() {
        let a: Vec<u64> = Schedule::new(1000.0, true, 42).take(1000).collect();
        let b: Vec<u64> = Schedule::new(1000.0, true, 42).take(1000).collect();
        let c: Vec<u64> = Schedule::new(1000.0, true, 43).take(1000).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a[0], 0);
    }

    #[test]
    fn rng_ranges() {
        let mut r = Rng::new(1);
        let mut seen = [0u32; 10];
        for _ in 0..100_000 {
            let f = r.next_f64();
            assert!((0.0..1.0).contains(&f));
            seen[r.below(10) as usize] += 1;
        }
        for (k, &s) in seen.iter().enumerate() {
            assert!((9_000..11_000).contains(&s), "key {k} drawn {s} times");
        }
        assert_eq!(Rng::new(5).next_u64(), Rng::new(5).next_u64());
        assert_eq!(r.below(1), 0);
    }
}
