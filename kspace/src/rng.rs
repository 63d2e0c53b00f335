//! [`MaskRng`]: numpy's legacy `np.random.RandomState`, reproduced bit for bit.
//!
//! fastMRI seeds its masks with `RandomState(seed)` — an integer, or per volume the tuple of the
//! file name's code points — and draws with `uniform`/`randint`. To give researchers the *same*
//! mask for the same seed, this generator is MT19937 (via `rand_mt`) seeded exactly like numpy
//! (`init_genrand` for an integer, `init_by_array` for a tuple) and turns the 32-bit outputs
//! into numbers exactly like numpy's legacy code paths:
//!
//! - `random_sample()`: `((a >> 5) · 2²⁶ + (b >> 6)) / 2⁵³` from two consecutive outputs a, b;
//! - `randint(low, high)`: masked rejection sampling on `rng = high − low − 1`, with 32-bit
//!   draws when `rng ≤ 2³² − 1` and 64-bit draws `(a << 32) | b` otherwise (no draw when
//!   `rng = 0`);
//! - `standard_normal()`: the legacy polar Box–Muller method that caches its second value.
//!
//! The committed fixtures in `kspace/tests/fixtures/masks/` check all three against numpy.

use rand_mt::Mt;

use crate::{KspaceError, Result};

/// A seeded MT19937 stream that reproduces numpy's legacy `RandomState` draws bit for bit.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskRng {
    mt: Mt,
    /// The second value of the last polar Box–Muller pair (numpy's `has_gauss`/`gauss`).
    gauss: Option<f64>,
}

impl MaskRng {
    /// `np.random.RandomState(seed)`: MT19937 `init_genrand(seed)`.
    pub fn from_seed(seed: u32) -> Self {
        MaskRng { mt: Mt::new(seed), gauss: None }
    }

    /// `np.random.RandomState(key)` for a 1-D array/tuple of 32-bit integers: MT19937
    /// `init_by_array(key)`. numpy rejects an empty key, and so does this.
    pub fn from_key(key: &[u32]) -> Result<Self> {
        if key.is_empty() {
            return Err(KspaceError::InvalidParameter("a RandomState seed key must be non-empty".into()));
        }
        Ok(MaskRng { mt: Mt::new_with_key(key.iter().copied()), gauss: None })
    }

    /// [`Self::from_key`] for a key of fixed, non-zero length: infallible (an empty key does
    /// not compile), for keys derived from (seed, step, index) tuples.
    pub fn from_words<const N: usize>(key: [u32; N]) -> Self {
        const { assert!(N > 0, "a RandomState seed key must be non-empty") };
        MaskRng { mt: Mt::new_with_key(key.into_iter()), gauss: None }
    }

    /// fastMRI's per-volume seed `RandomState(tuple(map(ord, fname)))`: every slice of one
    /// volume gets the same mask. `fname` is the file name only (e.g. `file1000001.h5`), as
    /// fastMRI passes it; an empty name is an error (numpy rejects an empty seed).
    pub fn from_file_name(fname: &str) -> Result<Self> {
        let key: Vec<u32> = fname.chars().map(|c| c as u32).collect();
        if key.is_empty() {
            return Err(KspaceError::InvalidParameter("file name seed must be non-empty".into()));
        }
        Self::from_key(&key)
    }

    /// The next raw 32-bit MT19937 output.
    pub fn next_u32(&mut self) -> u32 {
        self.mt.next_u32()
    }

    /// numpy's legacy 64-bit draw: `(next_u32 << 32) | next_u32`.
    pub fn next_u64(&mut self) -> u64 {
        self.mt.next_u64()
    }

    /// `random_sample()` (= `uniform()`): a double in [0, 1) with 53 random bits,
    /// `((a >> 5) · 67108864 + (b >> 6)) / 9007199254740992`.
    pub fn uniform(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67108864.0 + b) / 9007199254740992.0
    }

    /// `uniform(low, high)`: `low + (high − low) · random_sample()`.
    pub fn uniform_range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.uniform()
    }

    /// `uniform(size=n)`: `n` consecutive [`uniform`](Self::uniform) draws, in order.
    pub fn uniform_vec(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.uniform()).collect()
    }

    /// `randint(low, high)` (int64): an integer uniform on `[low, high)` by numpy's legacy
    /// masked rejection: with `rng = high − low − 1` and `mask` the smallest `2ᵏ − 1 ≥ rng`,
    /// draw `v = next & mask` until `v ≤ rng`, return `low + v`. 32-bit draws when
    /// `rng < 2³² − 1`, one unmasked 32-bit draw when `rng = 2³² − 1`, 64-bit draws above;
    /// `rng = 0` draws nothing. `low ≥ high` is an error, as in numpy.
    pub fn randint(&mut self, low: i64, high: i64) -> Result<i64> {
        if low >= high {
            return Err(KspaceError::InvalidParameter(format!("randint: low ({low}) >= high ({high})")));
        }
        let rng = (high as i128 - low as i128 - 1) as u64;
        let v: u64 = if rng == 0 {
            0
        } else if rng < 0xFFFF_FFFF {
            let mask = mask_for(rng) as u32;
            loop {
                let v = self.next_u32() & mask;
                if v as u64 <= rng {
                    break v as u64;
                }
            }
        } else if rng == 0xFFFF_FFFF {
            self.next_u32() as u64
        } else if rng == u64::MAX {
            self.next_u64()
        } else {
            let mask = mask_for(rng);
            loop {
                let v = self.next_u64() & mask;
                if v <= rng {
                    break v;
                }
            }
        };
        Ok((low as i128 + v as i128) as i64)
    }

    /// `standard_normal()`: numpy's legacy polar Box–Muller. Draw `x₁ = 2u₁ − 1`,
    /// `x₂ = 2u₂ − 1` until `0 < r² = x₁² + x₂² < 1`, set `f = √(−2 ln r² / r²)`, return
    /// `f·x₂` and keep `f·x₁` for the next call.
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(g) = self.gauss.take() {
            return g;
        }
        loop {
            let x1 = 2.0 * self.uniform() - 1.0;
            let x2 = 2.0 * self.uniform() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.gauss = Some(f * x1);
                return f * x2;
            }
        }
    }

    /// `normal(loc, scale)`: `loc + scale · standard_normal()`.
    pub fn normal(&mut self, loc: f64, scale: f64) -> f64 {
        loc + scale * self.standard_normal()
    }
}

/// The smallest `2ᵏ − 1 ≥ max` (numpy's `gen_mask`).
fn mask_for(max: u64) -> u64 {
    if max == 0 {
        0
    } else {
        u64::MAX >> max.leading_zeros()
    }
}
