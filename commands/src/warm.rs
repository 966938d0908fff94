//! Aggregates kept folded between commands, for aggregate types whose logs grow long (a
//! portfolio of thousands of trades): a command takes its aggregate out, the store adds only
//! the events appended after it (by any process), and a command that committed puts it back.
//! The budget counts events folded in, so memory stays bounded whatever the mix of records.

use std::collections::HashMap;
use std::sync::Mutex;

struct Entry<A> {
    aggregate: A,
    sequence: usize,
    used: u64,
}

pub(crate) struct Warm<A> {
    inner: Mutex<Inner<A>>,
}

struct Inner<A> {
    entries: HashMap<String, Entry<A>>,
    tick: u64,
    /// Events folded into the aggregates kept, and how many may be.
    events: usize,
    budget: usize,
}

impl<A> Warm<A> {
    /// Keeps aggregates whose events add up to at most `budget`.
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                tick: 0,
                events: 0,
                budget,
            }),
        }
    }

    /// Takes the aggregate kept for `id` (nobody else gets it until it is put back).
    pub(crate) fn take(&self, id: &str) -> Option<(A, usize)> {
        let mut inner = self.inner.lock().expect("warm aggregates");
        let e = inner.entries.remove(id)?;
        inner.events -= e.sequence;
        Some((e.aggregate, e.sequence))
    }

    /// Keeps `aggregate`, folded up to `sequence`, evicting the least recently kept while
    /// over budget. One larger than the whole budget is not kept.
    pub(crate) fn put(&self, id: &str, aggregate: A, sequence: usize) {
        let mut inner = self.inner.lock().expect("warm aggregates");
        if sequence > inner.budget {
            return;
        }
        if let Some(old) = inner.entries.remove(id) {
            inner.events -= old.sequence;
        }
        while inner.events + sequence > inner.budget {
            let Some(oldest) = inner
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(e) = inner.entries.remove(&oldest) {
                inner.events -= e.sequence;
            }
        }
        inner.tick += 1;
        let used = inner.tick;
        inner.events += sequence;
        inner.entries.insert(
            id.to_string(),
            Entry {
                aggregate,
                sequence,
                used,
            },
        );
    }

    /// Forgets the aggregate kept for `id`.
    pub(crate) fn forget(&self, id: &str) {
        drop(self.take(id));
    }

    #[cfg(test)]
    fn kept(&self) -> (usize, usize) {
        let inner = self.inner.lock().expect("warm aggregates");
        (inner.entries.len(), inner.events)
    }
}

#[cfg(test)]
mod tests {
    use super::Warm;

    #[test]
    fn takes_what_was_put_once() {
        let warm = Warm::new(100);
        warm.put("a", "state a", 3);
        assert_eq!(warm.take("a"), Some(("state a", 3)));
        assert_eq!(warm.take("a"), None);
        assert_eq!(warm.kept(), (0, 0));
    }

    #[test]
    fn evicts_the_least_recently_kept_over_budget() {
        let warm = Warm::new(10);
        warm.put("a", 1, 4);
        warm.put("b", 2, 4);
        warm.put("a", 1, 5); // kept again: now the most recent
        warm.put("c", 3, 4); // 5 + 4 + 4 > 10: b goes
        assert_eq!(warm.take("b"), None);
        assert_eq!(warm.take("a"), Some((1, 5)));
        assert_eq!(warm.take("c"), Some((3, 4)));
        assert_eq!(warm.kept(), (0, 0));
    }

    #[test]
    fn does_not_keep_one_larger_than_the_budget() {
        let warm = Warm::new(10);
        warm.put("a", 1, 2);
        warm.put("big", 2, 11);
        assert_eq!(warm.take("big"), None);
        assert_eq!(warm.take("a"), Some((1, 2)));
    }
}
