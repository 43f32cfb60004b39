//! The change signal behind [`showdown_store::Subscription`]s (see "Change signal" in the
//! [module documentation](super)): `LISTEN` for other processes' appends, `pg_notify` after
//! this process's, and a poll in case a notification is lost.

use std::sync::Arc;
use std::time::Duration;

use showdown_store::GlobalPosition;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;

use super::Shared;

/// How long to wait before trying again after the database failed.
const RETRY: Duration = Duration::from_secs(1);

/// The notification channel of the store in `schema`.
pub(crate) fn channel_name(schema: &str) -> String {
    // Channel names are identifiers: at most 63 bytes. Schema names are checked to fit,
    // but one found in the `search_path` may not.
    let name = format!("showdown_events.{schema}");
    if name.len() <= 63 { name } else { format!("showdown_events.{:016x}", super::fnv1a(schema.as_bytes())) }
}

/// Listens on `channel` and wakes subscribers on every notification, and after every
/// reconnection (notifications sent meanwhile are lost).
pub(crate) async fn listen(pool: PgPool, channel: String, shared: Arc<Shared>) {
    loop {
        if let Ok(mut listener) = PgListener::connect_with(&pool).await
            && listener.listen(&channel).await.is_ok()
        {
            shared.head.send_modify(|_| ());
            loop {
                match listener.try_recv().await {
                    Ok(Some(n)) => match n.payload().parse::<u64>() {
                        Ok(head) => shared.advance_head(GlobalPosition(head)),
                        Err(_) => shared.head.send_modify(|_| ()),
                    },
                    // The connection was lost and is back: something may have been missed.
                    Ok(None) => shared.head.send_modify(|_| ()),
                    Err(_) => break,
                }
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// Tells other processes about this one's commits: `pg_notify(channel, head)` after each
/// change of `committed`, coalescing the changes that come while one is sent.
pub(crate) async fn notify(pool: PgPool, channel: String, mut committed: watch::Receiver<GlobalPosition>) {
    while committed.changed().await.is_ok() {
        let head = *committed.borrow_and_update();
        let sent = sqlx::query("SELECT pg_notify($1, $2)").bind(&channel).bind(head.0.to_string()).execute(&pool).await;
        if sent.is_err() {
            // Other processes' polls will see the events; try again with the next commit.
            tokio::time::sleep(RETRY).await;
        }
    }
}

/// While anyone subscribes, reads the visible head and wakes subscribers if it moved since
/// the last look: every `every`, and [`CATCH_UP`] after the announced head moved (a commit
/// here, a notification from elsewhere) for as long as the visible head is behind it. An
/// announced event becomes visible only once every older transaction in the cluster ended
/// (the `pg_snapshot_xmin` rule), so a notification alone can wake a subscriber too early;
/// this poll wakes it again when the event can be read.
pub(crate) async fn poll(pool: PgPool, shared: Arc<Shared>, every: Duration) {
    let mut announced = shared.head.subscribe();
    let mut last: Option<i64> = None;
    let mut behind = false;
    loop {
        let wait = if behind { CATCH_UP } else { every };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            changed = announced.changed() => {
                if changed.is_err() {
                    return;
                }
                // Let a burst of commits settle into one look.
                tokio::time::sleep(CATCH_UP).await;
            }
        }
        // This task's own receiver does not count as a subscriber.
        if shared.head.receiver_count() <= 1 {
            behind = false;
            continue;
        }
        let head: Result<Option<i64>, _> = sqlx::query_scalar(
            "SELECT max(position) FROM events WHERE xact_id < pg_snapshot_xmin(pg_current_snapshot())",
        )
        .fetch_one(&pool)
        .await;
        // On an error, subscribers' own reads report the database's state.
        let Ok(head) = head else { continue };
        let visible = GlobalPosition(head.map_or(0, |h| u64::try_from(h).unwrap_or(0) + 1));
        if head.is_some() && last != head {
            last = head;
            shared.head.send_modify(|h| *h = (*h).max(visible));
        }
        announced.borrow_and_update();
        behind = visible < *shared.head.borrow();
    }
}

/// How soon the poll looks again while announced events are not yet visible.
const CATCH_UP: Duration = Duration::from_millis(10);
