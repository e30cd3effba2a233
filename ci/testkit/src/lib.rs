//! Test utilities for the uplink: an LTE-like UDP link emulator
//! ([`relay`]), a throw-away PKI shaped like the factory's ([`pki`]), and
//! helpers to run the project's binaries as real processes ([`procs`]).

pub mod pki;
pub mod procs;
pub mod relay;

/// xorshift64*: reproducible randomness for impairments and test plans
/// (seeded and printed, so a failing run can be repeated).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi].
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi.saturating_sub(lo) + 1)
    }
}
