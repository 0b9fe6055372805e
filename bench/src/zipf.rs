//! A small PRNG, a bijective key scrambler and a Zipf sampler (rejection-inversion, Hörmann and
//! Derflinger 1996, as in Apache Commons RNG), so the crate needs no `rand`.

/// splitmix64: tiny, fast, good enough for workload generation.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }
    /// Uniform in [0, 1).
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    /// Uniform in [0, n).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// The splitmix64 finaliser: a bijection on u64 that scatters consecutive integers.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Zipf distribution over ranks 1..=n with exponent s > 0: P(k) proportional to 1/k^s.
#[derive(Clone, Debug)]
pub struct Zipf {
    n: f64,
    s: f64,
    h_x1: f64,
    h_n: f64,
    cut: f64,
}

impl Zipf {
    pub fn new(n: u64, s: f64) -> Self {
        assert!(n >= 1 && s > 0.0, "Zipf needs n >= 1 and s > 0");
        let mut z = Zipf {
            n: n as f64,
            s,
            h_x1: 0.0,
            h_n: 0.0,
            cut: 0.0,
        };
        z.h_x1 = z.h_integral(1.5) - 1.0;
        z.h_n = z.h_integral(n as f64 + 0.5);
        z.cut = 2.0 - z.h_integral_inv(z.h_integral(2.5) - z.h(2.0));
        z
    }

    /// A rank in 1..=n.
    #[inline]
    pub fn sample(&self, rng: &mut SplitMix64) -> u64 {
        loop {
            let u = self.h_n + rng.next_f64() * (self.h_x1 - self.h_n);
            let x = self.h_integral_inv(u);
            let k = (x + 0.5).floor().clamp(1.0, self.n);
            if k - x <= self.cut || u >= self.h_integral(k + 0.5) - self.h(k) {
                return k as u64;
            }
        }
    }

    #[inline]
    fn h(&self, x: f64) -> f64 {
        (-self.s * x.ln()).exp()
    }
    #[inline]
    fn h_integral(&self, x: f64) -> f64 {
        let lx = x.ln();
        helper2((1.0 - self.s) * lx) * lx
    }
    #[inline]
    fn h_integral_inv(&self, x: f64) -> f64 {
        let t = (x * (1.0 - self.s)).max(-1.0);
        (helper1(t) * x).exp()
    }
}

/// ln(1+x)/x, accurate near 0.
#[inline]
fn helper1(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.ln_1p() / x
    } else {
        1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))
    }
}

/// (exp(x)-1)/x, accurate near 0.
#[inline]
fn helper2(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.exp_m1() / x
    } else {
        1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x))
    }
}

/// `count` keys drawn from Zipf(`n`, `s`), rank r mapped to the key `mix64(r)` so that hot keys are
/// not small consecutive integers.
pub fn zipf_keys(n: u64, s: f64, count: usize, seed: u64) -> Vec<u64> {
    let z = Zipf::new(n, s);
    let mut rng = SplitMix64::new(seed);
    (0..count).map(|_| mix64(z.sample(&mut rng))).collect()
}

/// `count` keys drawn uniformly from `n` keys (`mix64(1..=n)`).
pub fn uniform_keys(n: u64, count: usize, seed: u64) -> Vec<u64> {
    let mut rng = SplitMix64::new(seed);
    (0..count).map(|_| mix64(1 + rng.below(n))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_matches_pmf() {
        for &s in &[0.99, 1.2, 0.5] {
            let n = 1000u64;
            let z = Zipf::new(n, s);
            let norm: f64 = (1..=n).map(|k| (k as f64).powf(-s)).sum();
            let mut rng = SplitMix64::new(7);
            let draws = 400_000;
            let mut counts = vec![0u32; n as usize + 1];
            for _ in 0..draws {
                let k = z.sample(&mut rng);
                assert!((1..=n).contains(&k));
                counts[k as usize] += 1;
            }
            for k in [1usize, 2, 3, 10, 100] {
                let expect = (k as f64).powf(-s) / norm;
                let got = f64::from(counts[k]) / draws as f64;
                assert!(
                    (got - expect).abs() < 4.0 * (expect / draws as f64).sqrt() + 1e-4,
                    "s={s} k={k} got {got} expected {expect}"
                );
            }
        }
    }

    #[test]
    fn mix64_is_injective_on_a_range() {
        let set: std::collections::HashSet<u64> = (0..100_000).map(mix64).collect();
        assert_eq!(set.len(), 100_000);
    }
}
