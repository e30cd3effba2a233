//! conn.log's `history`: one letter per event, upper case for the
//! originator and lower case for the responder; most letters appear once per
//! side, the repeated ones (`C G T W`) again each time their count reaches a
//! power of ten (the caller counts).

use heapless::String;

/// Longest history kept; later letters are dropped.
pub const MAX_LEN: usize = 48;

#[derive(Clone, Debug, Default)]
pub struct History {
    letters: String<MAX_LEN>,
    /// Letters seen, one bit per (side, letter).
    seen: u64,
    /// Counts of the repeated letters C, G, T, W per side.
    counts: [u32; 8],
}

fn bit(is_orig: bool, code: char) -> u64 {
    let idx = (code as u32).wrapping_sub('A' as u32) & 31;
    1u64 << (idx + if is_orig { 0 } else { 32 })
}

impl History {
    /// Appends `code` for the side (lower-cased for the responder).
    pub fn add(&mut self, is_orig: bool, code: char) {
        let c = if is_orig {
            code
        } else {
            code.to_ascii_lowercase()
        };
        let _ = self.letters.push(c);
    }

    /// Adds `code` if the side has not shown it before; returns whether it
    /// had (Zeek's `CheckHistory`).
    pub fn once(&mut self, is_orig: bool, code: char) -> bool {
        self.once_masked(is_orig, code, code)
    }

    /// Like [`History::once`], with the seen-bit of `mask` standing for
    /// `code` (SYN and SYN-ACK share one).
    pub fn once_masked(&mut self, is_orig: bool, mask: char, code: char) -> bool {
        let b = bit(is_orig, mask);
        if self.seen & b != 0 {
            return true;
        }
        self.seen |= b;
        self.add(is_orig, code);
        false
    }

    /// Counts a repeated event (`C G T W`) and adds its letter when the
    /// count reaches 1, 10, 100, ...
    #[inline]
    pub fn scaled(&mut self, is_orig: bool, code: char) {
        let slot = match code {
            'C' => 0,
            'G' => 1,
            'T' => 2,
            _ => 3,
        } + if is_orig { 0 } else { 4 };
        let n = self.counts[slot].saturating_add(1);
        self.counts[slot] = n;
        if is_power_of_ten(n) {
            self.add(is_orig, code);
        }
    }

    /// Marks a role flip.
    pub fn flip(&mut self) {
        let _ = self.letters.push('^');
    }

    pub fn as_str(&self) -> &str {
        &self.letters
    }

    /// Zeek's test for RSTOS0: `^?S[^HAFGIQ]*R.*`.
    pub fn is_syn_then_reset(&self) -> bool {
        let s = self.letters.strip_prefix('^').unwrap_or(&self.letters);
        let Some(rest) = s.strip_prefix('S') else {
            return false;
        };
        for c in rest.chars() {
            match c {
                'R' => return true,
                'H' | 'A' | 'F' | 'G' | 'I' | 'Q' => return false,
                _ => {}
            }
        }
        false
    }

    /// Swaps the sides: upper case becomes lower case and back.
    pub fn swap_sides(&mut self) {
        let mut out: String<MAX_LEN> = String::new();
        for c in self.letters.chars() {
            let c = if c.is_ascii_uppercase() {
                c.to_ascii_lowercase()
            } else {
                c.to_ascii_uppercase()
            };
            let _ = out.push(c);
        }
        self.letters = out;
        self.seen = self.seen.rotate_left(32);
        self.counts.rotate_left(4);
    }
}

fn is_power_of_ten(n: u32) -> bool {
    // Every power of ten a u32 holds: compares, where dividing by ten in a
    // loop cost a multiply per digit on each bad-checksum or retransmitted
    // segment.
    matches!(
        n,
        1 | 10
            | 100
            | 1_000
            | 10_000
            | 100_000
            | 1_000_000
            | 10_000_000
            | 100_000_000
            | 1_000_000_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_of_ten_are_exactly_the_counts_that_add_a_letter() {
        let by_log = |n: u32| n.checked_ilog10().is_some_and(|d| 10u32.pow(d) == n);
        let powers = (0..10).map(|d| 10u32.pow(d));
        let near = powers.flat_map(|p| [p - 1, p, p + 1]);
        for n in (0..200_000).chain(near).chain([u32::MAX - 1, u32::MAX]) {
            assert_eq!(is_power_of_ten(n), by_log(n), "{n}");
        }
    }

    #[test]
    fn once_per_side() {
        let mut h = History::default();
        assert!(!h.once(true, 'S'));
        assert!(h.once(true, 'S'));
        assert!(!h.once(false, 'S'));
        assert_eq!(h.as_str(), "Ss");
    }

    #[test]
    fn rstos0_pattern() {
        let mut h = History::default();
        h.once(true, 'S');
        h.once(true, 'R');
        assert!(h.is_syn_then_reset());
        // An ACK from the originator between SYN and RST breaks the pattern.
        let mut h = History::default();
        h.once(true, 'S');
        h.once(true, 'A');
        h.once(true, 'R');
        assert!(!h.is_syn_then_reset());
    }

    #[test]
    fn repeats_at_powers_of_ten() {
        let mut h = History::default();
        for _ in 0..100 {
            h.scaled(false, 'T');
        }
        assert_eq!(h.as_str(), "ttt");
    }
}
