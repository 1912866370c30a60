//! K-way merge of replay sources in key order (receive time for recordings, event time
//! for CSVs; both in ns), so files recorded side by side interleave as recorded.

use super::{Feed, FeedError, FeedEvent};

/// A feed that also says where each event falls in the merge order.
pub(crate) trait ReplaySource: Feed {
    /// The next event with its merge key in ns; `Ok(None)` at the end.
    fn next_keyed(&mut self) -> Result<Option<(i64, FeedEvent)>, FeedError>;
}

/// What the merge holds from one source.
enum Head {
    /// Nothing read yet, or the last event was handed out.
    Empty,
    /// The source's next event.
    Pending(i64, FeedEvent),
    /// The source is exhausted.
    Done,
}

/// Several sources as one feed, in key order; ties go to the source listed first.
pub(crate) struct MergedFeed {
    sources: Vec<Box<dyn ReplaySource>>,
    heads: Vec<Head>,
}

impl MergedFeed {
    pub(crate) fn new(sources: Vec<Box<dyn ReplaySource>>) -> MergedFeed {
        let heads = sources.iter().map(|_| Head::Empty).collect();
        MergedFeed { sources, heads }
    }
}

impl Feed for MergedFeed {
    /// A source's error is returned as is; calling again goes on with the next line of
    /// that source, so a caller may log and continue.
    fn next_event(&mut self) -> Result<Option<FeedEvent>, FeedError> {
        for (head, source) in self.heads.iter_mut().zip(&mut self.sources) {
            if matches!(head, Head::Empty) {
                *head = match source.next_keyed()? {
                    Some((key, event)) => Head::Pending(key, event),
                    None => Head::Done,
                };
            }
        }
        // A linear scan beats a heap for the handful of files a replay merges.
        let mut best: Option<(usize, i64)> = None;
        for (i, head) in self.heads.iter().enumerate() {
            if let Head::Pending(key, _) = head
                && best.is_none_or(|(_, best_key)| *key < best_key)
            {
                best = Some((i, *key));
            }
        }
        let Some((i, _)) = best else { return Ok(None) };
        match std::mem::replace(&mut self.heads[i], Head::Empty) {
            Head::Pending(_, event) => Ok(Some(event)),
            _ => Ok(None),
        }
    }

    fn starts_on_minute_boundary(&self) -> bool {
        self.sources.iter().all(|s| s.starts_on_minute_boundary())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Scripted(Vec<Result<(i64, FeedEvent), FeedError>>, bool);

    impl Feed for Scripted {
        fn next_event(&mut self) -> Result<Option<FeedEvent>, FeedError> {
            Ok(self.next_keyed()?.map(|(_, e)| e))
        }
        fn starts_on_minute_boundary(&self) -> bool {
            self.1
        }
    }

    impl ReplaySource for Scripted {
        fn next_keyed(&mut self) -> Result<Option<(i64, FeedEvent)>, FeedError> {
            if self.0.is_empty() { Ok(None) } else { self.0.remove(0).map(Some) }
        }
    }

    fn source(keys: &[i64], boundary: bool) -> Box<dyn ReplaySource> {
        Box::new(Scripted(keys.iter().map(|k| Ok((*k, FeedEvent::Clock(*k)))).collect(), boundary))
    }

    #[test]
    fn merges_in_key_order_with_stable_ties() {
        let mut merged =
            MergedFeed::new(vec![source(&[1, 4, 4, 9], true), source(&[], true), source(&[2, 4, 10], false)]);
        assert!(!merged.starts_on_minute_boundary());
        let got: Vec<_> = std::iter::from_fn(|| merged.next_event().unwrap()).collect();
        let want: Vec<_> = [1, 2, 4, 4, 4, 9, 10].map(FeedEvent::Clock).to_vec();
        assert_eq!(got, want);
    }

    #[test]
    fn an_error_does_not_lose_other_events() {
        let failing = Box::new(Scripted(
            vec![Ok((1, FeedEvent::Clock(1))), Err(FeedError::frame("bad")), Ok((5, FeedEvent::Clock(5)))],
            true,
        ));
        let mut merged = MergedFeed::new(vec![failing, source(&[3], true)]);
        assert_eq!(merged.next_event().unwrap(), Some(FeedEvent::Clock(1)));
        assert!(merged.next_event().is_err());
        assert_eq!(merged.next_event().unwrap(), Some(FeedEvent::Clock(3)));
        assert_eq!(merged.next_event().unwrap(), Some(FeedEvent::Clock(5)));
        assert_eq!(merged.next_event().unwrap(), None);
    }
}
