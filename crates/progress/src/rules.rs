//! The pure rules of lesson progress: merging played intervals, counting pages, the resume point
//! and when a lesson counts as complete. No database here, so every rule is unit-tested.
//!
//! The state is a join-semilattice: applying the same events in any order, or twice, gives the
//! same state. That is what makes phone sync order-independent and idempotent.

use chrono::{DateTime, Utc};
use course::structure::LessonKind;

/// How far past the media's end a played segment or position may reach: players report the
/// last frame a little late, and rounding differs between devices.
pub const DURATION_TOLERANCE_SECONDS: f64 = 2.0;

/// Floating-point slack when comparing a share with its threshold.
const EPSILON: f64 = 1e-9;

/// What completes a lesson: its kind, its threshold and the size of its material.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LessonRule {
    /// Video, document or text.
    pub kind: LessonKind,
    /// Share (0, 1] of the video watched or of the pages viewed.
    pub threshold: f64,
    /// The video's length in seconds, when known.
    pub duration_seconds: Option<f64>,
    /// The document's pages, when known.
    pub page_count: Option<i32>,
}

/// One event's effect, already validated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Effect {
    /// A segment actually played, in seconds.
    Played {
        /// Start.
        from: f64,
        /// End.
        to: f64,
    },
    /// The player's position, in seconds.
    Position(f64),
    /// A page seen.
    PageViewed(i32),
    /// The lesson opened (or a text lesson marked done).
    Opened,
}

/// A learner's state in one lesson.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LessonState {
    /// Played intervals, sorted, none overlapping or touching.
    pub intervals: Vec<(f64, f64)>,
    /// Distinct pages seen, sorted.
    pub pages: Vec<i32>,
    /// Whether it was opened.
    pub opened: bool,
    /// The resume point and when it was reported.
    pub position: Option<(DateTime<Utc>, f64)>,
}

impl LessonState {
    /// Applies one event that happened at `at`.
    pub fn apply(&mut self, effect: Effect, at: DateTime<Utc>) {
        match effect {
            Effect::Played { from, to } => {
                add_interval(&mut self.intervals, from, to);
                // The end of a played segment is where the player stood at that moment.
                self.set_position(at, to);
            }
            Effect::Position(p) => self.set_position(at, p),
            Effect::PageViewed(page) => {
                if let Err(i) = self.pages.binary_search(&page) {
                    self.pages.insert(i, page);
                }
                // A document resumes at the page seen last.
                self.set_position(at, f64::from(page));
            }
            Effect::Opened => self.opened = true,
        }
    }

    /// The latest report wins; a tie goes to the larger value, so the outcome does not depend
    /// on arrival order.
    fn set_position(&mut self, at: DateTime<Utc>, value: f64) {
        let newer = match self.position {
            None => true,
            Some((t, v)) => at > t || (at == t && value > v),
        };
        if newer {
            self.position = Some((at, value));
        }
    }

    /// Seconds actually played: the union of the intervals, clipped to the media's length.
    pub fn watched_seconds(&self, duration_seconds: Option<f64>) -> f64 {
        let cap = duration_seconds.unwrap_or(f64::INFINITY);
        self.intervals
            .iter()
            .map(|&(a, b)| (b.min(cap) - a.max(0.0)).max(0.0))
            .sum()
    }

    /// Share of the media watched or of the pages viewed, in [0, 1]; `None` when the lesson has
    /// no measurable size (a text lesson, or a material not processed yet).
    pub fn share(&self, rule: &LessonRule) -> Option<f64> {
        match rule.kind {
            LessonKind::Video => {
                let d = rule.duration_seconds.filter(|d| *d > 0.0)?;
                Some((self.watched_seconds(Some(d)) / d).min(1.0))
            }
            LessonKind::Document => {
                let n = rule.page_count.filter(|n| *n > 0)?;
                let seen = self.pages.iter().filter(|p| **p >= 1 && **p <= n).count();
                Some((seen as f64 / f64::from(n)).min(1.0))
            }
            LessonKind::Text | LessonKind::Quiz | LessonKind::Survey => None,
        }
    }

    /// Whether the lesson's completion rule holds for this state.
    pub fn satisfies(&self, rule: &LessonRule) -> bool {
        match rule.kind {
            LessonKind::Text => self.opened,
            // Completed by the quiz and evaluation crates (`completion::complete_lesson`).
            LessonKind::Quiz | LessonKind::Survey => false,
            LessonKind::Video | LessonKind::Document => self
                .share(rule)
                .is_some_and(|s| s + EPSILON >= rule.threshold),
        }
    }
}

/// Adds `[from, to]` to sorted, disjoint `intervals`, merging what overlaps or touches it.
pub fn add_interval(intervals: &mut Vec<(f64, f64)>, from: f64, to: f64) {
    let (mut a, mut b) = (from, to);
    let mut out = Vec::with_capacity(intervals.len() + 1);
    let mut placed = false;
    for &(x, y) in intervals.iter() {
        if y < a {
            out.push((x, y));
        } else if x > b {
            if !placed {
                out.push((a, b));
                placed = true;
            }
            out.push((x, y));
        } else {
            a = a.min(x);
            b = b.max(y);
        }
    }
    if !placed {
        out.push((a, b));
    }
    *intervals = out;
}

/// The first instant at which `rule` holds when `events` (any order) are applied in the order
/// they happened, or `None` if it never does. Ties in time are broken by the given key so the
/// answer does not depend on arrival order.
pub fn completion_time<K: Ord + Copy>(
    rule: &LessonRule,
    events: &[(DateTime<Utc>, K, Effect)],
) -> Option<DateTime<Utc>> {
    let mut sorted: Vec<&(DateTime<Utc>, K, Effect)> = events.iter().collect();
    sorted.sort_by_key(|(at, key, _)| (*at, *key));
    first_holding(
        LessonState::default(),
        rule,
        sorted.into_iter().map(|(at, _, effect)| (*at, *effect)),
    )
}

/// The first instant at which `rule` holds when `later` events, none of them older than any
/// event merged into `prior`, follow `prior`; `None` if `prior` already satisfies the rule (its
/// completion time is then among the older events) or the rule never holds.
///
/// The rules only grow a state, so the rule first holds at the earliest `t` for which the events
/// up to `t` satisfy it; events before `later` are all in `prior`, so no replay is needed. Ties
/// in time cannot change the answer: it is a time, not an event.
pub fn completion_time_after(
    prior: &LessonState,
    rule: &LessonRule,
    later: &[(DateTime<Utc>, Effect)],
) -> Option<DateTime<Utc>> {
    if prior.satisfies(rule) {
        return None;
    }
    let mut sorted = later.to_vec();
    sorted.sort_by_key(|(at, _)| *at);
    first_holding(prior.clone(), rule, sorted)
}

/// Applies `events` (in the order given) to `state` and gives the time of the first after which
/// `rule` holds.
fn first_holding(
    mut state: LessonState,
    rule: &LessonRule,
    events: impl IntoIterator<Item = (DateTime<Utc>, Effect)>,
) -> Option<DateTime<Utc>> {
    for (at, effect) in events {
        state.apply(effect, at);
        if state.satisfies(rule) {
            return Some(at);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_780_000_000 + s, 0)
            .single()
            .unwrap_or_default()
    }

    fn video(duration: f64, threshold: f64) -> LessonRule {
        LessonRule {
            kind: LessonKind::Video,
            threshold,
            duration_seconds: Some(duration),
            page_count: None,
        }
    }

    #[test]
    fn overlapping_and_touching_intervals_merge_and_gaps_stay() {
        let mut iv = Vec::new();
        add_interval(&mut iv, 10.0, 20.0);
        add_interval(&mut iv, 30.0, 40.0);
        add_interval(&mut iv, 15.0, 25.0);
        add_interval(&mut iv, 25.0, 30.0);
        add_interval(&mut iv, 50.0, 60.0);
        assert_eq!(iv, vec![(10.0, 40.0), (50.0, 60.0)]);
        add_interval(&mut iv, 0.0, 100.0);
        assert_eq!(iv, vec![(0.0, 100.0)]);
    }

    #[test]
    fn skipping_to_the_end_counts_only_what_was_played() {
        let rule = video(600.0, 0.9);
        let mut s = LessonState::default();
        s.apply(
            Effect::Played {
                from: 0.0,
                to: 10.0,
            },
            t(0),
        );
        s.apply(Effect::Position(590.0), t(1));
        s.apply(
            Effect::Played {
                from: 590.0,
                to: 600.0,
            },
            t(2),
        );
        assert_eq!(s.watched_seconds(Some(600.0)), 20.0);
        assert!(!s.satisfies(&rule));
        assert_eq!(s.position, Some((t(2), 600.0)));
    }

    #[test]
    fn the_same_events_in_any_order_give_the_same_state() {
        let events = [
            (
                t(3),
                Effect::Played {
                    from: 100.0,
                    to: 200.0,
                },
            ),
            (
                t(1),
                Effect::Played {
                    from: 0.0,
                    to: 120.0,
                },
            ),
            (t(5), Effect::Position(42.0)),
            (t(2), Effect::PageViewed(3)),
            (t(4), Effect::Opened),
        ];
        let mut a = LessonState::default();
        let mut b = LessonState::default();
        for (at, e) in events {
            a.apply(e, at);
        }
        for (at, e) in events.iter().rev() {
            b.apply(*e, *at);
            b.apply(*e, *at);
        }
        assert_eq!(a, b);
        assert_eq!(a.intervals, vec![(0.0, 200.0)]);
        assert_eq!(a.position, Some((t(5), 42.0)));
    }

    #[test]
    fn completion_time_is_when_the_rule_first_held() {
        let rule = video(100.0, 0.8);
        let events = [
            (
                t(30),
                3,
                Effect::Played {
                    from: 50.0,
                    to: 100.0,
                },
            ),
            (
                t(10),
                1,
                Effect::Played {
                    from: 0.0,
                    to: 40.0,
                },
            ),
            (
                t(20),
                2,
                Effect::Played {
                    from: 40.0,
                    to: 50.0,
                },
            ),
        ];
        assert_eq!(completion_time(&rule, &events), Some(t(30)));
        let fewer = [(
            t(10),
            1,
            Effect::Played {
                from: 0.0,
                to: 40.0,
            },
        )];
        assert_eq!(completion_time(&rule, &fewer), None);
    }

    #[test]
    fn completion_after_a_stored_prefix_is_the_completion_of_the_whole() {
        let rule = video(100.0, 0.8);
        // In time order; two share an instant. 80 s of 100 are played only with the last.
        let events = [
            (t(1), 1, Effect::Position(5.0)),
            (
                t(2),
                2,
                Effect::Played {
                    from: 0.0,
                    to: 30.0,
                },
            ),
            (
                t(3),
                3,
                Effect::Played {
                    from: 50.0,
                    to: 70.0,
                },
            ),
            (
                t(3),
                4,
                Effect::Played {
                    from: 30.0,
                    to: 40.0,
                },
            ),
            (
                t(5),
                5,
                Effect::Played {
                    from: 40.0,
                    to: 45.0,
                },
            ),
            (
                t(6),
                6,
                Effect::Played {
                    from: 80.0,
                    to: 100.0,
                },
            ),
        ];
        let whole = completion_time(&rule, &events);
        assert_eq!(whole, Some(t(6)));
        for split in 0..events.len() {
            let mut prior = LessonState::default();
            for (at, _, e) in &events[..split] {
                prior.apply(*e, *at);
            }
            // Given newest first, as a phone may send them.
            let later: Vec<_> = events[split..]
                .iter()
                .rev()
                .map(|(at, _, e)| (*at, *e))
                .collect();
            assert_eq!(
                completion_time_after(&prior, &rule, &later),
                whole,
                "split {split}"
            );
        }
        // A prior that already satisfies the rule cannot tell when it first held.
        let mut done = LessonState::default();
        done.apply(
            Effect::Played {
                from: 0.0,
                to: 100.0,
            },
            t(1),
        );
        assert_eq!(
            completion_time_after(&done, &rule, &[(t(9), Effect::Opened)]),
            None
        );
    }

    #[test]
    fn documents_count_distinct_pages_and_text_needs_opening() {
        let doc = LessonRule {
            kind: LessonKind::Document,
            threshold: 0.5,
            duration_seconds: None,
            page_count: Some(4),
        };
        let mut s = LessonState::default();
        s.apply(Effect::PageViewed(1), t(0));
        s.apply(Effect::PageViewed(1), t(1));
        assert!(!s.satisfies(&doc));
        s.apply(Effect::PageViewed(4), t(2));
        assert!(s.satisfies(&doc));
        let text = LessonRule {
            kind: LessonKind::Text,
            threshold: 1.0,
            duration_seconds: None,
            page_count: None,
        };
        let mut s = LessonState::default();
        assert!(!s.satisfies(&text));
        s.apply(Effect::Opened, t(0));
        assert!(s.satisfies(&text));
    }

    #[test]
    fn a_video_without_a_known_duration_cannot_complete() {
        let rule = LessonRule {
            duration_seconds: None,
            ..video(1.0, 0.5)
        };
        let mut s = LessonState::default();
        s.apply(
            Effect::Played {
                from: 0.0,
                to: 1000.0,
            },
            t(0),
        );
        assert!(!s.satisfies(&rule));
    }
}
