//! Time windows of a trace: when a node matters (a part while it was inside the
//! subassembly reached, an input at the moment it was consumed). A node reached along
//! several paths matters in the union of their windows, kept exact as a set of disjoint
//! intervals: a hull would let a part that left a container before the container was used
//! count as inside it whenever the same identifiers recur later.

/// An interval of unix ms, bounds included; `None` is unbounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) start: Option<i64>,
    pub(crate) end: Option<i64>,
}

impl Window {
    /// Every time.
    pub(crate) const ALWAYS: Self = Self {
        start: None,
        end: None,
    };

    /// The instant `t`.
    pub(crate) fn at(t: i64) -> Self {
        Self {
            start: Some(t),
            end: Some(t),
        }
    }

    /// From `t` on.
    pub(crate) fn from(t: i64) -> Self {
        Self {
            start: Some(t),
            end: None,
        }
    }

    fn intersect(self, o: Self) -> Option<Self> {
        let start = match (self.start, o.start) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (x, None) | (None, x) => x,
        };
        let end = match (self.end, o.end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (x, None) | (None, x) => x,
        };
        match (start, end) {
            (Some(s), Some(e)) if s > e => None,
            _ => Some(Self { start, end }),
        }
    }

    fn contains(self, t: i64) -> bool {
        self.start.is_none_or(|s| s <= t) && self.end.is_none_or(|e| t <= e)
    }

    /// Whether `o` starts no later than this ends (they overlap or touch, `o` not before).
    fn meets(self, o: Self) -> bool {
        match (self.end, o.start) {
            (None, _) | (_, None) => true,
            (Some(e), Some(s)) => s <= e,
        }
    }
}

/// A union of windows: disjoint, in time order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Windows(Vec<Window>);

impl Windows {
    /// One window.
    pub(crate) fn of(w: Window) -> Self {
        Self(vec![w])
    }

    /// Adds `other`; whether anything was added.
    pub(crate) fn union(&mut self, other: &Self) -> bool {
        let before = self.0.clone();
        let mut all: Vec<Window> = self.0.drain(..).chain(other.0.iter().copied()).collect();
        all.sort_by_key(|w| (w.start.is_some(), w.start));
        for w in all {
            match self.0.last_mut() {
                Some(last) if last.meets(w) => {
                    last.end = match (last.end, w.end) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        _ => None,
                    };
                }
                _ => self.0.push(w),
            }
        }
        self.0 != before
    }

    /// The parts of these windows inside `w`.
    pub(crate) fn within(&self, w: Window) -> Self {
        Self(self.0.iter().filter_map(|x| x.intersect(w)).collect())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `t` lies in a window.
    pub(crate) fn contains(&self, t: i64) -> bool {
        self.0.iter().any(|w| w.contains(t))
    }

    /// Whether some window reaches `t` or later.
    pub(crate) fn reaches(&self, t: i64) -> bool {
        self.0.iter().any(|w| w.end.is_none_or(|e| t <= e))
    }

    /// Whether the windows run on into the future (the last has no end).
    pub(crate) fn open(&self) -> bool {
        self.0.last().is_some_and(|w| w.end.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(a: i64, b: i64) -> Window {
        Window {
            start: Some(a),
            end: Some(b),
        }
    }

    #[test]
    fn unions_stay_exact() {
        let mut s = Windows::of(w(10, 20));
        assert!(s.union(&Windows::of(w(30, 40))));
        assert!(!s.contains(25), "the gap is not covered");
        assert!(!s.union(&Windows::of(w(12, 18))), "inside: nothing added");
        assert!(s.union(&Windows::of(w(20, 30))));
        assert_eq!(s, Windows::of(w(10, 40)));
        assert!(s.union(&Windows::of(Window::from(35))));
        assert!(s.open() && s.contains(1_000));
        assert!(s.union(&Windows::of(Window::ALWAYS)));
        assert_eq!(s, Windows::of(Window::ALWAYS));
    }

    #[test]
    fn within_and_reaches() {
        let mut s = Windows::of(w(10, 20));
        s.union(&Windows::of(w(30, 40)));
        assert_eq!(s.within(w(15, 35)), {
            let mut x = Windows::of(w(15, 20));
            x.union(&Windows::of(w(30, 35)));
            x
        });
        assert!(s.within(w(21, 29)).is_empty());
        assert!(s.reaches(40) && !s.reaches(41));
    }
}
