//! A poker server: one table behind a WebSocket, speaking `showdown_store::sync`, with a page
//! at `/` where two browser tabs can sit down and play.
//!
//! ```text
//! cargo run --release --example server -- [--listen 127.0.0.1:8080] [--store sqlite:server.db]
//!     [--table table-1] [--postgres-read-models postgres://…] [--redis redis://127.0.0.1:6379]
//! ```
//!
//! The table's events go to the store (`--store`, SQLite by default, any URL `showdown`
//! takes); with `--postgres-read-models` the read models follow the store, and with `--redis`
//! the Redis caches and per-seat pub/sub feeds do (each a projection beside the table, as in
//! `showdown simulate`). The server itself is `app.rs`, which `tests/server.rs` runs too.

mod app;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use showdown::store::codec::TableCodec;
use showdown::store::projection::{Projector, ReadModelSink};
use showdown::store::{EventStore, StreamId};

/// A poker table over WebSockets.
#[derive(Parser)]
struct Args {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// The event store: sqlite:PATH, postgres://…, esdb://… or memory:.
    #[arg(long, default_value = "sqlite:server.db")]
    store: String,
    /// The table's stream.
    #[arg(long, default_value = "table-1")]
    table: String,
    /// Keep the PostgreSQL read models up to date in this database.
    #[arg(long)]
    postgres_read_models: Option<String>,
    /// Keep the Redis caches and per-seat feeds up to date on this server.
    #[arg(long)]
    redis: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let store = showdown::stores::open(&args.store).await?;
    let table = StreamId::new(args.table.clone()).with_context(|| format!("--table {}", args.table))?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut projections = tokio::task::JoinSet::new();
    if let Some(url) = &args.postgres_read_models {
        let sink = showdown_postgres::ReadModels::connect(url).await.context("--postgres-read-models")?;
        projections.spawn(follow(store.clone(), sink, stopped.clone(), "read models"));
    }
    if let Some(url) = &args.redis {
        let config = showdown_redis::RedisConfig::new(url.as_str());
        config.validate()?;
        let cache = showdown_redis::RedisCache::connect(config).await.context("--redis")?;
        // Publish only what Redis has not seen: a restart does not replay old events.
        let seen = cache.leaderboard_position().await.ok().flatten().map(showdown::store::GlobalPosition);
        let sink = showdown_redis::RedisSink::new(cache, Arc::new(TableCodec::default()), seen);
        projections.spawn(follow(store.clone(), sink, stopped.clone(), "redis"));
    }
    let listener =
        tokio::net::TcpListener::bind(&args.listen).await.with_context(|| format!("--listen {}", args.listen))?;
    let server = app::start(listener, store, app::ServerOptions::new(table)).await?;
    let (version, table) = server.table().await.context("the table's task stopped")?;
    println!(
        "serving {} on http://{} (store {}, {} events, {} hands played)",
        args.table,
        server.addr,
        showdown::stores::redact(&args.store),
        version.map_or(0, |v| v.0 + 1),
        table.hand_no().0
    );
    tokio::signal::ctrl_c().await?;
    println!("stopping");
    server.stop().await;
    let _ = stop.send(true);
    while projections.join_next().await.is_some() {}
    Ok(())
}

/// Runs a projection beside the table until `stopped`.
async fn follow<S: ReadModelSink + Send + 'static>(
    store: Arc<dyn EventStore>,
    sink: S,
    stopped: tokio::sync::watch::Receiver<bool>,
    name: &'static str,
) {
    let mut projector = Projector::new(&*store, TableCodec::default(), sink);
    if let Err(e) = projector.run(stopped, Duration::from_millis(50)).await {
        eprintln!("{name}: {}", showdown::store::verify::error_chain(&e));
    }
}
