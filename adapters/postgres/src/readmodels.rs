//! The read models in PostgreSQL ([`ReadModels`]): the tables of `migrations/0002_read_models.sql`
//! (the ledger's `entry` and void kinds from `0003_ledger_voids.sql`),
//! written by a [`showdown_store::projection::Projector`] through [`ReadModels`] as its sink.
//!
//! Each batch is one transaction: lock the projection's checkpoint row, check it is where the
//! runner believes (else write nothing: another runner moved on), insert the batch's rows with
//! one `UNNEST` statement per table, move the checkpoint, commit. A crash anywhere before the
//! commit writes nothing; insert-only rows have primary keys, so a bug that wrote a batch twice
//! would fail loudly instead of double-counting.

use std::time::Duration;

use async_trait::async_trait;
use showdown_store::projection::{Batch, ReadModelSink};
use showdown_store::readmodel::{Changes, avatar_columns};
use showdown_store::{BoxError, GlobalPosition, StoreError};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use crate::store::{DriverError, PostgresOptions, redact_url};

/// The name of the read-model projection's checkpoint.
pub const READ_MODELS: &str = "read_models";

/// The read-model tables, in the order a dump lists them, each with the key that orders its rows.
pub const TABLES: [(&str, &str); 9] = [
    ("tables", "table_id"),
    ("players", "player_id"),
    ("hands", "table_id, hand_no"),
    ("hand_players", "table_id, hand_no, seat"),
    ("hand_actions", "table_id, hand_no, ordinal"),
    ("ledger", "position, entry"),
    ("player_stats", "player_id"),
    ("audit_log", "position"),
    ("projection_checkpoints", "name"),
];

/// The read models of one database (and schema): a projection sink and the queries the
/// checks run.
#[derive(Clone, Debug)]
pub struct ReadModels {
    pool: PgPool,
    location: String,
}

impl ReadModels {
    /// Connects to the database at `url` and migrates it (the read models share the store's
    /// migrations, so one database can hold both).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] naming the URL without its password.
    pub async fn connect(url: &str) -> Result<ReadModels, StoreError> {
        ReadModels::connect_with(url, PostgresOptions::default()).await
    }

    /// As [`ReadModels::connect`], in the schema `options` names.
    ///
    /// # Errors
    /// As [`ReadModels::connect`].
    pub async fn connect_with(url: &str, options: PostgresOptions) -> Result<ReadModels, StoreError> {
        let location = redact_url(url);
        let (connect, _) = crate::store::migrate(url, &options).await?;
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(connect.application_name("showdown read models"))
            .await
            .map_err(|e| StoreError::Unavailable {
                location: location.clone(),
                source: Box::new(DriverError::new("connecting", e)),
            })?;
        Ok(ReadModels { pool, location })
    }

    /// The connection pool, for queries of the caller's.
    #[must_use]
    pub const fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Every read-model table as text, row by row in key order: two dumps are equal exactly
    /// when the tables hold the same rows.
    ///
    /// # Errors
    /// When a query fails.
    pub async fn dump(&self) -> Result<String, StoreError> {
        let mut out = String::new();
        for (table, key) in TABLES {
            let sql = format!("SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY {key}), '') FROM {table} t");
            let text: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(&self.pool)
                .await
                .map_err(|e| self.error("dumping the read models", e))?;
            out.push_str("-- ");
            out.push_str(table);
            out.push('\n');
            out.push_str(&text);
            out.push('\n');
        }
        Ok(out)
    }

    fn error(&self, context: &'static str, e: sqlx::Error) -> StoreError {
        StoreError::Unavailable { location: self.location.clone(), source: Box::new(DriverError::new(context, e)) }
    }

    async fn write(&self, expected: Option<GlobalPosition>, changes: &Changes) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO projection_checkpoints (name, position) VALUES ($1, NULL) ON CONFLICT (name) DO NOTHING",
        )
        .bind(READ_MODELS)
        .execute(&mut *tx)
        .await?;
        let at: Option<i64> =
            sqlx::query_scalar("SELECT position FROM projection_checkpoints WHERE name = $1 FOR UPDATE")
                .bind(READ_MODELS)
                .fetch_one(&mut *tx)
                .await?;
        if at != expected.map(|p| p.0 as i64) {
            tx.rollback().await?;
            return Ok(false);
        }
        write_rows(&mut tx, changes).await?;
        sqlx::query("UPDATE projection_checkpoints SET position = $2 WHERE name = $1")
            .bind(READ_MODELS)
            .bind(changes.last_position.map(|p| p.0 as i64))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}

#[async_trait]
impl ReadModelSink for ReadModels {
    fn name(&self) -> &str {
        READ_MODELS
    }

    async fn checkpoint(&mut self) -> Result<Option<GlobalPosition>, BoxError> {
        let at: Option<Option<i64>> = sqlx::query_scalar("SELECT position FROM projection_checkpoints WHERE name = $1")
            .bind(READ_MODELS)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.error("reading the checkpoint", e))?;
        Ok(at.flatten().map(|p| GlobalPosition(p as u64)))
    }

    async fn commit(&mut self, expected: Option<GlobalPosition>, batch: Batch<'_>) -> Result<bool, BoxError> {
        Ok(self.write(expected, batch.changes).await.map_err(|e| self.error("writing the read models", e))?)
    }

    async fn reset(&mut self) -> Result<(), BoxError> {
        let reset = async {
            let mut tx = self.pool.begin().await?;
            sqlx::query("TRUNCATE tables, players, hands, hand_players, hand_actions, ledger, player_stats, audit_log")
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM projection_checkpoints WHERE name = $1")
                .bind(READ_MODELS)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        };
        Ok(reset.await.map_err(|e| self.error("dropping the read models", e))?)
    }
}

/// `'epoch' + ms`: exact, and a function of the event only.
const MS: &str = "'epoch'::timestamptz + interval '1 millisecond' *";

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

async fn write_rows(tx: &mut Transaction<'static, Postgres>, c: &Changes) -> Result<(), sqlx::Error> {
    if !c.tables.is_empty() {
        let rows: Vec<_> = c.tables.values().collect();
        let config: Vec<String> =
            rows.iter().map(|t| serde_json::to_string(&t.config).expect("a config serializes")).collect();
        let ante = |t: &showdown_engine::table::TableConfig| match t.ante {
            showdown_engine::table::Ante::None => 0,
            showdown_engine::table::Ante::PerPlayer(a) | showdown_engine::table::Ante::BigBlind(a) => i(a.0),
        };
        let sql = format!(
            "INSERT INTO tables (table_id, variant, small_blind, big_blind, ante, seats, config, opened_at, closed_at, hand_no, stream_version)
             SELECT id, v, sb, bb, a, s, cfg::jsonb, {MS} o, {MS} c, h, ver
             FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::smallint[], $7::text[],
                         $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[]) AS x(id, v, sb, bb, a, s, cfg, o, c, h, ver)
             ON CONFLICT (table_id) DO UPDATE SET closed_at = EXCLUDED.closed_at, hand_no = EXCLUDED.hand_no,
                 stream_version = EXCLUDED.stream_version"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(rows.iter().map(|t| t.table_id.clone()).collect::<Vec<_>>())
            .bind(rows.iter().map(|t| t.config.variant.phh_code().to_owned()).collect::<Vec<_>>())
            .bind(rows.iter().map(|t| i(t.config.small_blind.0)).collect::<Vec<_>>())
            .bind(rows.iter().map(|t| i(t.config.big_blind.0)).collect::<Vec<_>>())
            .bind(rows.iter().map(|t| ante(&t.config)).collect::<Vec<_>>())
            .bind(rows.iter().map(|t| i16::from(t.config.seats)).collect::<Vec<_>>())
            .bind(config)
            .bind(rows.iter().map(|t| i(t.opened_ms)).collect::<Vec<_>>())
            .bind(rows.iter().map(|t| t.closed_ms.map(i)).collect::<Vec<_>>())
            .bind(rows.iter().map(|t| i(t.hand_no)).collect::<Vec<_>>())
            .bind(rows.iter().map(|t| i(t.version)).collect::<Vec<_>>())
            .execute(&mut **tx)
            .await?;
    }
    if !c.seen_players.is_empty() {
        sqlx::query(
            "INSERT INTO players (player_id) SELECT * FROM UNNEST($1::bigint[]) ON CONFLICT (player_id) DO NOTHING",
        )
        .bind(c.seen_players.iter().map(|p| i(*p)).collect::<Vec<_>>())
        .execute(&mut **tx)
        .await?;
    }
    if !c.players.is_empty() {
        let rows: Vec<_> = c.players.values().collect();
        let avatars: Vec<_> = rows.iter().map(|p| avatar_columns(&p.profile.avatar)).collect();
        let sql = format!(
            "INSERT INTO players (player_id, display_name, preferences, avatar_id, avatar_kind, avatar_url,
                                  avatar_moderation, avatar_updated_at, registered_at, updated_at, deleted_at, stream_version)
             SELECT id, n, pr::jsonb, ai, ak, au, am, {MS} aup, {MS} r, {MS} u, {MS} d, ver
             FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                         $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[])
                  AS x(id, n, pr, ai, ak, au, am, aup, r, u, d, ver)
             ON CONFLICT (player_id) DO UPDATE SET display_name = EXCLUDED.display_name,
                 preferences = EXCLUDED.preferences, avatar_id = EXCLUDED.avatar_id, avatar_kind = EXCLUDED.avatar_kind,
                 avatar_url = EXCLUDED.avatar_url, avatar_moderation = EXCLUDED.avatar_moderation,
                 avatar_updated_at = EXCLUDED.avatar_updated_at, registered_at = EXCLUDED.registered_at,
                 updated_at = EXCLUDED.updated_at, deleted_at = EXCLUDED.deleted_at,
                 stream_version = EXCLUDED.stream_version"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(rows.iter().map(|p| i(p.player_id)).collect::<Vec<_>>())
            .bind(rows.iter().map(|p| p.profile.display_name.clone()).collect::<Vec<_>>())
            .bind(
                rows.iter()
                    .map(|p| serde_json::to_string(&p.profile.preferences).expect("strings serialize"))
                    .collect::<Vec<_>>(),
            )
            .bind(avatars.iter().map(|a| a.0.to_owned()).collect::<Vec<_>>())
            .bind(avatars.iter().map(|a| a.1.to_owned()).collect::<Vec<_>>())
            .bind(avatars.iter().map(|a| a.2.map(str::to_owned)).collect::<Vec<_>>())
            .bind(avatars.iter().map(|a| a.3.to_owned()).collect::<Vec<_>>())
            .bind(avatars.iter().map(|a| i(a.4)).collect::<Vec<_>>())
            .bind(rows.iter().map(|p| i(p.profile.registered_ms)).collect::<Vec<_>>())
            .bind(rows.iter().map(|p| i(p.profile.updated_ms)).collect::<Vec<_>>())
            .bind(rows.iter().map(|p| p.profile.deleted_ms.map(i)).collect::<Vec<_>>())
            .bind(rows.iter().map(|p| i(p.version)).collect::<Vec<_>>())
            .execute(&mut **tx)
            .await?;
    }
    if !c.hands.is_empty() {
        let h = &c.hands;
        let sql = format!(
            "INSERT INTO hands (table_id, hand_no, variant, small_blind, big_blind, ante, button_seat, board, players,
                                started_at, ended_at, pot_total, first_position, last_position)
             SELECT id, n, v, sb, bb, a, b, bd, p, {MS} s, {MS} e, pt, fp, lp
             FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::smallint[],
                         $8::text[], $9::smallint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[])
                  AS x(id, n, v, sb, bb, a, b, bd, p, s, e, pt, fp, lp)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(h.iter().map(|r| r.table_id.clone()).collect::<Vec<_>>())
            .bind(h.iter().map(|r| i(r.hand_no)).collect::<Vec<_>>())
            .bind(h.iter().map(|r| r.variant.to_owned()).collect::<Vec<_>>())
            .bind(h.iter().map(|r| i(r.small_blind)).collect::<Vec<_>>())
            .bind(h.iter().map(|r| i(r.big_blind)).collect::<Vec<_>>())
            .bind(h.iter().map(|r| i(r.ante)).collect::<Vec<_>>())
            .bind(h.iter().map(|r| i16::from(r.button_seat)).collect::<Vec<_>>())
            .bind(h.iter().map(|r| r.board.clone()).collect::<Vec<_>>())
            .bind(h.iter().map(|r| i16::from(r.players)).collect::<Vec<_>>())
            .bind(h.iter().map(|r| i(r.started_ms)).collect::<Vec<_>>())
            .bind(h.iter().map(|r| i(r.ended_ms)).collect::<Vec<_>>())
            .bind(h.iter().map(|r| i(r.pot_total)).collect::<Vec<_>>())
            .bind(h.iter().map(|r| i(r.first_position)).collect::<Vec<_>>())
            .bind(h.iter().map(|r| i(r.last_position)).collect::<Vec<_>>())
            .execute(&mut **tx)
            .await?;
    }
    if !c.hand_players.is_empty() {
        let p = &c.hand_players;
        sqlx::query(
            "INSERT INTO hand_players (table_id, hand_no, seat, position, player_id, hole_cards, starting_stack,
                                       finishing_stack, net, vpip, pfr, three_bet, went_to_showdown, won_at_showdown)
             SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::smallint[], $4::smallint[], $5::bigint[], $6::text[],
                                  $7::bigint[], $8::bigint[], $9::bigint[], $10::bool[], $11::bool[], $12::bool[],
                                  $13::bool[], $14::bool[])",
        )
        .bind(p.iter().map(|r| r.table_id.clone()).collect::<Vec<_>>())
        .bind(p.iter().map(|r| i(r.hand_no)).collect::<Vec<_>>())
        .bind(p.iter().map(|r| i16::from(r.seat)).collect::<Vec<_>>())
        .bind(p.iter().map(|r| i16::from(r.position)).collect::<Vec<_>>())
        .bind(p.iter().map(|r| i(r.player_id)).collect::<Vec<_>>())
        .bind(p.iter().map(|r| r.hole_cards.clone()).collect::<Vec<_>>())
        .bind(p.iter().map(|r| i(r.starting_stack)).collect::<Vec<_>>())
        .bind(p.iter().map(|r| i(r.finishing_stack)).collect::<Vec<_>>())
        .bind(p.iter().map(|r| r.net).collect::<Vec<_>>())
        .bind(p.iter().map(|r| r.vpip).collect::<Vec<_>>())
        .bind(p.iter().map(|r| r.pfr).collect::<Vec<_>>())
        .bind(p.iter().map(|r| r.three_bet).collect::<Vec<_>>())
        .bind(p.iter().map(|r| r.went_to_showdown).collect::<Vec<_>>())
        .bind(p.iter().map(|r| r.won_at_showdown).collect::<Vec<_>>())
        .execute(&mut **tx)
        .await?;
    }
    if !c.hand_actions.is_empty() {
        let a = &c.hand_actions;
        sqlx::query(
            "INSERT INTO hand_actions (table_id, hand_no, ordinal, street, seat, player_id, action, amount, raise_to,
                                       cards, position)
             SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::integer[], $4::text[], $5::smallint[], $6::bigint[],
                                  $7::text[], $8::bigint[], $9::bigint[], $10::text[], $11::bigint[])",
        )
        .bind(a.iter().map(|r| r.table_id.clone()).collect::<Vec<_>>())
        .bind(a.iter().map(|r| i(r.hand_no)).collect::<Vec<_>>())
        .bind(a.iter().map(|r| r.ordinal as i32).collect::<Vec<_>>())
        .bind(a.iter().map(|r| r.street.to_owned()).collect::<Vec<_>>())
        .bind(a.iter().map(|r| i16::from(r.seat)).collect::<Vec<_>>())
        .bind(a.iter().map(|r| i(r.player_id)).collect::<Vec<_>>())
        .bind(a.iter().map(|r| r.action.to_owned()).collect::<Vec<_>>())
        .bind(a.iter().map(|r| i(r.amount)).collect::<Vec<_>>())
        .bind(a.iter().map(|r| r.raise_to.map(i)).collect::<Vec<_>>())
        .bind(a.iter().map(|r| r.cards.clone()).collect::<Vec<_>>())
        .bind(a.iter().map(|r| i(r.position)).collect::<Vec<_>>())
        .execute(&mut **tx)
        .await?;
    }
    if !c.ledger.is_empty() {
        let l = &c.ledger;
        sqlx::query(
            "INSERT INTO ledger (position, table_id, hand_no, seat, player_id, kind, amount, entry)
             SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::smallint[], $5::bigint[], $6::text[],
                                  $7::bigint[], $8::integer[])",
        )
        .bind(l.iter().map(|r| i(r.position)).collect::<Vec<_>>())
        .bind(l.iter().map(|r| r.table_id.clone()).collect::<Vec<_>>())
        .bind(l.iter().map(|r| r.hand_no.map(i)).collect::<Vec<_>>())
        .bind(l.iter().map(|r| i16::from(r.seat)).collect::<Vec<_>>())
        .bind(l.iter().map(|r| i(r.player_id)).collect::<Vec<_>>())
        .bind(l.iter().map(|r| r.kind.to_owned()).collect::<Vec<_>>())
        .bind(l.iter().map(|r| r.amount).collect::<Vec<_>>())
        .bind(l.iter().map(|r| i32::try_from(r.entry).unwrap_or(i32::MAX)).collect::<Vec<_>>())
        .execute(&mut **tx)
        .await?;
    }
    if !c.stats.is_empty() {
        let s: Vec<_> = c.stats.iter().collect();
        sqlx::query(
            "INSERT INTO player_stats (player_id, hands, vpip, pfr, three_bet, went_to_showdown, won_at_showdown,
                                       net_chips, big_blinds_won)
             SELECT id, h, v, p, t, w, ws, n, bm / 1000.0
             FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[],
                         $7::bigint[], $8::bigint[], $9::bigint[]) AS x(id, h, v, p, t, w, ws, n, bm)
             ON CONFLICT (player_id) DO UPDATE SET hands = player_stats.hands + EXCLUDED.hands,
                 vpip = player_stats.vpip + EXCLUDED.vpip, pfr = player_stats.pfr + EXCLUDED.pfr,
                 three_bet = player_stats.three_bet + EXCLUDED.three_bet,
                 went_to_showdown = player_stats.went_to_showdown + EXCLUDED.went_to_showdown,
                 won_at_showdown = player_stats.won_at_showdown + EXCLUDED.won_at_showdown,
                 net_chips = player_stats.net_chips + EXCLUDED.net_chips,
                 big_blinds_won = player_stats.big_blinds_won + EXCLUDED.big_blinds_won",
        )
        .bind(s.iter().map(|(p, _)| i(**p)).collect::<Vec<_>>())
        .bind(s.iter().map(|(_, d)| i(d.hands)).collect::<Vec<_>>())
        .bind(s.iter().map(|(_, d)| i(d.vpip)).collect::<Vec<_>>())
        .bind(s.iter().map(|(_, d)| i(d.pfr)).collect::<Vec<_>>())
        .bind(s.iter().map(|(_, d)| i(d.three_bet)).collect::<Vec<_>>())
        .bind(s.iter().map(|(_, d)| i(d.went_to_showdown)).collect::<Vec<_>>())
        .bind(s.iter().map(|(_, d)| i(d.won_at_showdown)).collect::<Vec<_>>())
        .bind(s.iter().map(|(_, d)| d.net).collect::<Vec<_>>())
        .bind(s.iter().map(|(_, d)| d.bb_milli).collect::<Vec<_>>())
        .execute(&mut **tx)
        .await?;
    }
    if !c.audit.is_empty() {
        let a = &c.audit;
        let sql = format!(
            "INSERT INTO audit_log (position, table_id, command_id, outcome, kind, player_id, stream_version, reason, at)
             SELECT p, t, c, o, k, pl, v, r, {MS} at
             FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[],
                         $8::text[], $9::bigint[]) AS x(p, t, c, o, k, pl, v, r, at)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(a.iter().map(|r| i(r.position)).collect::<Vec<_>>())
            .bind(a.iter().map(|r| r.table_id.clone()).collect::<Vec<_>>())
            .bind(a.iter().map(|r| r.command_id.clone()).collect::<Vec<_>>())
            .bind(a.iter().map(|r| r.outcome.to_owned()).collect::<Vec<_>>())
            .bind(a.iter().map(|r| r.kind.clone()).collect::<Vec<_>>())
            .bind(a.iter().map(|r| r.player_id.map(i)).collect::<Vec<_>>())
            .bind(a.iter().map(|r| r.version.map(i)).collect::<Vec<_>>())
            .bind(a.iter().map(|r| r.reason.clone()).collect::<Vec<_>>())
            .bind(a.iter().map(|r| i(r.at_ms)).collect::<Vec<_>>())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
