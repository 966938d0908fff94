//! A small seeded generator (SplitMix64) for generated and demo stories: no dependency, the
//! same story for the same seed.

use chrono::Duration;

pub(crate) struct Dice(pub(crate) u64);

impl Dice {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// Between `lo` and `hi` hours, to the minute.
    pub(crate) fn hours(&mut self, lo: i64, hi: i64) -> Duration {
        Duration::minutes(lo * 60 + self.below(((hi - lo) * 60).max(1) as u64) as i64)
    }
}
