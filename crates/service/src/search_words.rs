//! Objects stored before the search index and reminders existed (or
//! restored from a backup) get their words and their next alarm at
//! start-up, in batches, beside normal work (every write gives its own).
//! Several instances may run this at once: a row is filled once.

use almanac_ical::ParseLimits;
use almanac_store::Store;

const BATCH: i64 = 500;

/// Fills the search words and next alarm of every object that has no
/// words yet.
pub async fn fill_missing(store: Store) {
    let mut filled = 0usize;
    loop {
        let batch = match store.items_without_search_text(BATCH).await {
            Ok(batch) => batch,
            Err(e) => {
                tracing::warn!(error = %e, "search words: cannot read objects; search finds them after their next change");
                return;
            }
        };
        if batch.is_empty() {
            break;
        }
        let now = chrono::Utc::now().timestamp();
        let ctx = almanac_ical::EvalContext::default();
        let texts: Vec<(i64, String, Option<i64>)> = batch
            .iter()
            .map(|(id, data)| {
                let parsed = std::str::from_utf8(data)
                    .ok()
                    .and_then(|t| almanac_ical::parse(t, &ParseLimits::default()).ok());
                parsed.map_or_else(
                    || (*id, String::new(), None),
                    |calendar| {
                        (
                            *id,
                            almanac_ical::search_text(&calendar),
                            crate::next_alarm::next_alarm(&calendar, &ctx, now),
                        )
                    },
                )
            })
            .collect();
        if let Err(e) = store.set_derived(&texts).await {
            tracing::warn!(error = %e, "search words: cannot store them; trying again at the next start");
            return;
        }
        filled += texts.len();
        tokio::task::yield_now().await;
    }
    if filled > 0 {
        tracing::info!(
            objects = filled,
            "search words filled in for objects stored before search"
        );
    }
}
