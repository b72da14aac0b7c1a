//! A fixed-capacity ring of recent items (the live view's last 15 minutes).

use std::collections::VecDeque;

/// Keeps the newest `capacity` items; pushing into a full ring drops the oldest.
/// Storage is allocated once up front, so memory use is flat from the start.
#[derive(Debug, Clone)]
pub struct Ring<T> {
    items: VecDeque<T>,
    capacity: usize,
}

impl<T> Ring<T> {
    /// An empty ring holding at most `capacity` items (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self { items: VecDeque::with_capacity(capacity), capacity }
    }

    /// Appends `item`, evicting the oldest when full, and returns the stored item.
    pub fn push(&mut self, item: T) -> &T {
        if self.items.len() >= self.capacity {
            self.items.pop_front();
        }
        self.items.push_back(item);
        &self.items[self.items.len() - 1]
    }

    /// The newest item.
    pub fn latest(&self) -> Option<&T> {
        self.items.back()
    }

    /// Items oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.items.iter()
    }

    /// How many items are stored.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The most items the ring will hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Drops every item.
    pub fn clear(&mut self) {
        self.items.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_ordered() {
        let mut r = Ring::new(3);
        for i in 0..10 {
            assert_eq!(*r.push(i), i);
            assert!(r.len() <= 3);
        }
        assert_eq!(r.iter().copied().collect::<Vec<_>>(), [7, 8, 9]);
        assert_eq!(r.latest(), Some(&9));
        assert_eq!(Ring::<u8>::new(0).capacity(), 1);
        r.clear();
        assert!(r.is_empty());
    }
}
