//! The per-address collections of the rules, kept where they lie while they hold a few values and
//! moved to the heap only past that: most addresses a rule keeps state for are counted once or
//! twice and forgotten at the next sweep, and allocating (then freeing) a set and a queue for each
//! was a fifth of what the rules cost in an import (perf, 1,000,000 lines).

use std::collections::{HashSet, VecDeque};

/// How many values are kept in place.
const FEW: usize = 4;

/// The newest event ids a bucket keeps to link to its alert, oldest first.
#[derive(Debug, Clone)]
pub(super) enum Recent {
    Few { len: u8, ids: [i64; FEW] },
    Many(VecDeque<i64>),
}

impl Default for Recent {
    fn default() -> Recent {
        Recent::Few { len: 0, ids: [0; FEW] }
    }
}

impl Recent {
    /// Adds `id` as the newest, keeping at most `keep` (at least one).
    pub(super) fn push(&mut self, id: i64, keep: usize) {
        match self {
            Recent::Few { len, ids } if usize::from(*len) < FEW => {
                ids[usize::from(*len)] = id;
                *len += 1;
            }
            Recent::Few { len, ids } => {
                let mut queue = VecDeque::with_capacity(FEW * 2);
                queue.extend(&ids[..usize::from(*len)]);
                queue.push_back(id);
                *self = Recent::Many(queue);
            }
            Recent::Many(queue) => queue.push_back(id),
        }
        let keep = keep.max(1);
        match self {
            Recent::Few { len, ids } if usize::from(*len) > keep => {
                let over = usize::from(*len) - keep;
                ids.copy_within(over..usize::from(*len), 0);
                *len = keep as u8;
            }
            Recent::Few { .. } => {}
            Recent::Many(queue) => {
                while queue.len() > keep {
                    queue.pop_front();
                }
            }
        }
    }

    pub(super) fn ids(&self) -> Vec<i64> {
        match self {
            Recent::Few { len, ids } => ids[..usize::from(*len)].to_vec(),
            Recent::Many(queue) => queue.iter().copied().collect(),
        }
    }
}

/// Distinct 64-bit hashes (of the paths an address asked for).
#[derive(Debug, Clone)]
pub(super) enum Distinct {
    Few { len: u8, items: [u64; FEW] },
    Many(HashSet<u64, foldhash::fast::RandomState>),
}

impl Default for Distinct {
    fn default() -> Distinct {
        Distinct::Few { len: 0, items: [0; FEW] }
    }
}

impl Distinct {
    /// Adds `item`; false when it was there already.
    pub(super) fn insert(&mut self, item: u64) -> bool {
        match self {
            Distinct::Few { len, items } => {
                let held = &items[..usize::from(*len)];
                if held.contains(&item) {
                    return false;
                }
                if held.len() < FEW {
                    items[held.len()] = item;
                    *len += 1;
                } else {
                    let mut set = HashSet::with_capacity_and_hasher(FEW * 2, Default::default());
                    set.extend(held.iter().copied());
                    set.insert(item);
                    *self = Distinct::Many(set);
                }
                true
            }
            Distinct::Many(set) => set.insert(item),
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Distinct::Few { len, .. } => usize::from(*len),
            Distinct::Many(set) => set.len(),
        }
    }

    /// Forgets everything (and gives back what the heap held).
    pub(super) fn clear(&mut self) {
        *self = Distinct::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_keeps_the_newest_in_order_across_the_move_to_the_heap() {
        for keep in [1, 2, 3, 4, 5, 9, 100] {
            let mut recent = Recent::default();
            for id in 1..=20 {
                recent.push(id, keep);
                let first = (id - keep as i64 + 1).max(1);
                assert_eq!(recent.ids(), (first..=id).collect::<Vec<_>>(), "keep {keep}, after {id}");
            }
        }
        let mut never_empty = Recent::default();
        never_empty.push(7, 0);
        assert_eq!(never_empty.ids(), [7], "a bucket always keeps the event it counted last");
    }

    #[test]
    fn distinct_counts_each_value_once_across_the_move_to_the_heap() {
        let mut seen = Distinct::default();
        for round in 0..2 {
            for item in 0..12u64 {
                assert_eq!(seen.insert(item * 31), round == 0, "{item} in round {round}");
                assert_eq!(seen.len(), if round == 0 { item as usize + 1 } else { 12 });
            }
        }
        seen.clear();
        assert_eq!(seen.len(), 0);
        assert!(seen.insert(0), "forgotten values are new again");
    }
}
