//! The `showdown` command-line tool. Every subcommand exits non-zero with a one-line
//! reason on bad input.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use indicatif::{ProgressBar, ProgressStyle};
use showdown::engine::eval::{self, Category};
use showdown::replay_report::replay_text;
use showdown::sim::{Path, simulate_with};
use showdown::simulate::{SimulateOptions, simulate};
use showdown::stores;
use showdown::stress::stress;
use showdown_store::codec::TableCodec;
use showdown_store::projection::Projector;
use showdown_store::{ServiceConfig, StreamId, TableService, verify};
use std::str::FromStr as _;

#[derive(Parser)]
#[command(name = "showdown", version, about = "Poker tables as event-sourced aggregates")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Replay PHH hand histories (.phh, .phhs) and print each hand's finishing stacks.
    Replay {
        /// One JSON object per hand: {"file", "index", "finishing_stacks"} or {"file", "index", "error"}.
        #[arg(long)]
        json: bool,
        /// The files.
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Hand evaluator tools.
    Eval {
        #[command(subcommand)]
        command: EvalCmd,
    },
    /// In-memory benchmarks.
    Bench {
        #[command(subcommand)]
        command: BenchCmd,
    },
    /// Play bot tables concurrently through the table service on a store, with a progress
    /// bar. Stop it at any moment (even kill it) and run it again to continue.
    Simulate(SimulateArgs),
    /// Replay every stream of a store and check it: gapless versions, every event decodes,
    /// commands stored once and whole, chips conserved, snapshots equal to replays.
    Verify {
        /// The store.
        #[arg(long, default_value = showdown::stores::DEFAULT_STORE)]
        store: String,
    },
    /// Race writers on one table and count appended, conflicts, retries, rejected, lost and
    /// duplicated commands (the last two must be 0).
    Stress {
        /// The store.
        #[arg(long, default_value = showdown::stores::DEFAULT_STORE)]
        store: String,
        /// Writers racing.
        #[arg(long, default_value_t = 16)]
        writers: u32,
        /// Commands each writer sends.
        #[arg(long, default_value_t = 200)]
        commands: u64,
        /// The table's stream (a fresh one per run unless given).
        #[arg(long)]
        table: Option<String>,
        /// The bots' seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Write a table's finished hands as PHH (a .phhs file: [1], [2], …); a hand still
    /// running is left out and named on stderr.
    Export {
        /// The store.
        #[arg(long, default_value = showdown::stores::DEFAULT_STORE)]
        store: String,
        /// The table's stream, e.g. table-0.
        #[arg(long)]
        table: String,
        /// Write to this file instead of stdout.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Run the deterministic fault simulator: tables, clients, the in-memory store and the
    /// projections in one thread on a virtual clock, with faults injected from the seed.
    /// Prints the faults, the invariants checked and a hash of the run (the same seed gives
    /// the same hash); exits 1 naming the seed and step if an invariant did not hold.
    Chaos {
        /// The (first) seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Steps per seed.
        #[arg(long, default_value_t = 2_000)]
        steps: u64,
        /// Seeds to run: seed, seed + 1, …
        #[arg(long, default_value_t = 1)]
        seeds: u64,
        /// Tables on the simulated server.
        #[arg(long, default_value_t = 2)]
        tables: u8,
        /// Seats (each with a client) per table.
        #[arg(long, default_value_t = 4)]
        seats: u8,
        /// Plant a known bug to see it caught: fresh-id-on-retry.
        #[arg(long)]
        plant: Option<showdown::chaos::Plant>,
        /// Threads (the result does not depend on them; default: the machine's cores).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Reconcile two diverged copies of a table: keep the canonical branch by a
    /// deterministic rule and append to it the events that void the other branch's hands
    /// and refund its money (docs/RECONCILE.md). Running it again appends nothing.
    Reconcile {
        /// One store holding the table.
        #[arg(long, default_value = showdown::stores::DEFAULT_STORE)]
        store: String,
        /// The table's stream, e.g. table-0 (the same name in both stores).
        #[arg(long)]
        table: String,
        /// The other store holding the table (the other branch).
        #[arg(long, value_name = "URL2")]
        branch: String,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Catch the PostgreSQL read models up with the store, or rebuild them from its first
    /// event (--rebuild).
    Project {
        /// The store.
        #[arg(long, default_value = showdown::stores::DEFAULT_STORE)]
        store: String,
        /// The read models' database.
        #[arg(long, value_name = "URL")]
        postgres: String,
        /// Drop the read models and write them again from the store's first event.
        #[arg(long)]
        rebuild: bool,
        /// Events read and written per transaction.
        #[arg(long, default_value_t = showdown_store::projection::DEFAULT_BATCH)]
        batch: usize,
    },
}

/// The options of `showdown simulate`.
#[derive(clap::Args)]
struct SimulateArgs {
    /// The store: sqlite:PATH, postgres://…, esdb://… or memory:.
    #[arg(long, default_value = showdown::stores::DEFAULT_STORE)]
    store: String,
    /// Tables played at once.
    #[arg(long, default_value_t = 16)]
    tables: u32,
    /// Hands each table deals in all, counting those dealt in earlier runs.
    #[arg(long, default_value_t = 1_000)]
    hands: u64,
    /// The bots' seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Table i is the stream PREFIX-i.
    #[arg(long, default_value = "table")]
    prefix: String,
    /// Store a snapshot of a table every N events (0: never).
    #[arg(long, default_value_t = 1_000)]
    snapshot_every: u64,
    /// Append `STREAM COMMAND-ID` to this file for every acknowledged command.
    #[arg(long)]
    ack_log: Option<std::path::PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Project the read models into this PostgreSQL database while the tables play
    /// (caught up when the run ends).
    #[arg(long, value_name = "URL")]
    postgres_read_models: Option<String>,
    /// Keep table caches, fan-out and leaderboards in this Redis while the tables play.
    /// Redis is never needed: while it is down the tables keep playing (one warning), and
    /// its caches are rebuilt from the store when it is back.
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
}

#[derive(Subcommand)]
enum EvalCmd {
    /// Evaluate all 133,784,560 seven-card hands and count each category.
    Census,
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Play random six-max no-limit hands through decide and apply, in memory, on one core.
    Simulate {
        /// Hands to play.
        #[arg(long, default_value_t = 1_000_000)]
        hands: u64,
        /// Seed of the bots and the decks.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Use `execute` (decide and apply fused, no scratch copy) instead of `decide` then `apply`.
        #[arg(long)]
        execute: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The fault simulator's faults are on purpose: what they make the service log is noise.
    let quiet = if matches!(cli.command, Cmd::Chaos { .. }) { "error" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| quiet.into()))
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("showdown: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Cmd::Replay { json, files } => replay(json, &files),
        Cmd::Project { store, postgres, rebuild, batch } => project(&store, &postgres, rebuild, batch),
        Cmd::Simulate(args) => simulate_on_store(args),
        Cmd::Verify { store } => verify_store(&store),
        Cmd::Stress { store, writers, commands, table, seed } => stress_store(&store, writers, commands, table, seed),
        Cmd::Export { store, table, out } => export_table(&store, &table, out.as_deref()),
        Cmd::Chaos { seed, steps, seeds, tables, seats, plant, threads } => {
            chaos(&showdown::chaos::ChaosConfig { seed, steps, tables, seats, plant }, seeds, threads)
        }
        Cmd::Reconcile { store, table, branch, json } => reconcile_table(&store, &table, &branch, json),
        Cmd::Eval { command: EvalCmd::Census } => {
            let start = Instant::now();
            eval::init_tables();
            let tables = start.elapsed();
            let start = Instant::now();
            let census = eval::census();
            let elapsed = start.elapsed();
            for category in Category::ALL.iter().rev() {
                println!("{:<16} {:>12}", category.to_string(), group(census.counts[*category as usize]));
            }
            println!("{:<16} {:>12}", "total", group(census.total()));
            println!(
                "time             {:>9.3} s ({:.0} M hands/s, one core; the evaluator's tables were built before, in {:.3} s)",
                elapsed.as_secs_f64(),
                census.total() as f64 / elapsed.as_secs_f64() / 1e6,
                tables.as_secs_f64()
            );
            if census.total() != 133_784_560 {
                bail!("the census counted {} hands, not 133,784,560", census.total());
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench { command: BenchCmd::Simulate { hands, seed, execute } } => {
            if hands == 0 {
                bail!("--hands must be at least 1");
            }
            // The evaluator's tables are built once per process; time them apart.
            let start = Instant::now();
            eval::init_tables();
            let tables = start.elapsed();
            let start = Instant::now();
            let path = if execute { Path::Execute } else { Path::DecideApply };
            let stats = simulate_with(hands, seed, path);
            let secs = start.elapsed().as_secs_f64();
            println!(
                "{} hands, {} commands, {} events in {:.3} s: {:.0} hands/s, {:.0} events/s ({} showdowns; seed {seed}; path {path:?}; evaluator tables built in {:.1} ms before timing)",
                stats.hands,
                stats.commands,
                stats.events,
                secs,
                stats.hands as f64 / secs,
                stats.events as f64 / secs,
                stats.showdowns,
                tables.as_secs_f64() * 1e3
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A tokio runtime for the store commands.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

fn positive(name: &str, n: u64) -> anyhow::Result<()> {
    if n == 0 {
        bail!("--{name} must be at least 1");
    }
    Ok(())
}

fn simulate_on_store(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let SimulateArgs {
        store,
        tables,
        hands,
        seed,
        prefix,
        snapshot_every,
        ack_log,
        quiet,
        postgres_read_models,
        redis,
    } = args;
    positive("tables", u64::from(tables))?;
    positive("hands", hands)?;
    runtime()?.block_on(async {
        let store_handle = stores::open(&store).await?;
        let read_models = match &postgres_read_models {
            Some(url) => Some(read_models(url).await?),
            None => None,
        };
        let redis_sink = match &redis {
            Some(url) => redis_sink(url).await?,
            None => None,
        };
        let config = ServiceConfig { snapshot_every, ..ServiceConfig::default() };
        let service = TableService::new(store_handle.clone(), config);
        let progress = if quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(0).with_style(
                ProgressStyle::with_template(
                    "{spinner} {elapsed_precise} [{wide_bar}] {pos}/{len} hands ({per_sec}, eta {eta})",
                )
                .context("progress bar template")?,
            )
        };
        let options = SimulateOptions { tables, hands, seed, prefix, ack_log };
        // The projections follow the tables as they play, in this task; they catch up once
        // the tables are done.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let play = async {
            let report = simulate(&service, &options, &progress).await;
            let _ = stop.send(true);
            report
        };
        let project = follow(&*store_handle, read_models, stopped.clone());
        let cache = follow(&*store_handle, redis_sink, stopped);
        let (report, projected, cached) = tokio::join!(play, project, cache);
        let report = report?;
        progress.finish_and_clear();
        let secs = report.elapsed.as_secs_f64();
        println!(
            "{tables} tables ({}): {} hands dealt now ({} before), {} commands, {} events in {secs:.2} s: {:.0} events/s, {:.0} hands/s, {} conflicts",
            stores::StoreUrl::from_str(&store).map_or_else(|_| store.clone(), |u| u.to_string()),
            report.hands,
            report.hands_before,
            report.commands,
            report.events,
            report.events as f64 / secs,
            report.hands as f64 / secs,
            report.conflicts,
        );
        if let Some(projected) = projected {
            let p = projected.context("projecting the read models")?;
            println!("{}", projection_line("read models", &p, None));
        }
        match cached {
            Some(Ok(p)) => println!("{}", projection_line("redis", &p, None)),
            // Redis is a cache: a run whose Redis is still down at the end is not a failure.
            Some(Err(e)) => eprintln!("warning: redis is behind the store: {}", verify::error_chain(&e)),
            None => {}
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Runs a projection beside the tables until `stopped`, then catches it up (`None`: no sink).
async fn follow<S: showdown_store::projection::ReadModelSink>(
    store: &dyn showdown_store::EventStore,
    sink: Option<S>,
    stopped: tokio::sync::watch::Receiver<bool>,
) -> Option<Result<showdown_store::projection::Progress, showdown_store::projection::ProjectionError>> {
    let mut projector = Projector::new(store, TableCodec::default(), sink?);
    Some(projector.run(stopped, PROJECTION_POLL).await)
}

/// How often a following projection looks for new events.
const PROJECTION_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// The Redis sink of `simulate --redis`, or `None` (after a warning) when Redis cannot be
/// reached at the start: the tables play without it.
#[cfg(feature = "redis")]
async fn redis_sink(url: &str) -> anyhow::Result<Option<showdown_redis::RedisSink>> {
    let config = showdown_redis::RedisConfig::new(url);
    config.validate()?;
    let cache = match showdown_redis::RedisCache::connect(config).await {
        Ok(cache) => cache,
        Err(e) => {
            eprintln!("warning: playing without Redis: {}", verify::error_chain(&e));
            return Ok(None);
        }
    };
    // Publish only what Redis has not seen: a rebuild after a flush does not replay old
    // events to subscribers.
    let seen = cache.leaderboard_position().await.ok().flatten().map(showdown_store::GlobalPosition);
    Ok(Some(showdown_redis::RedisSink::new(cache, std::sync::Arc::new(TableCodec::default()), seen)))
}

#[cfg(not(feature = "redis"))]
async fn redis_sink(_url: &str) -> anyhow::Result<Option<NoReadModels>> {
    anyhow::bail!("--redis needs the `redis` feature")
}

#[cfg(feature = "postgres")]
async fn read_models(url: &str) -> anyhow::Result<showdown_postgres::ReadModels> {
    Ok(showdown_postgres::ReadModels::connect(url).await?)
}

#[cfg(not(feature = "postgres"))]
async fn read_models(_url: &str) -> anyhow::Result<NoReadModels> {
    anyhow::bail!("the read models need PostgreSQL: build with the `postgres` feature")
}

/// The sink of a build without PostgreSQL or Redis: there is none.
#[cfg(any(not(feature = "postgres"), not(feature = "redis")))]
enum NoReadModels {}

#[cfg(any(not(feature = "postgres"), not(feature = "redis")))]
#[async_trait::async_trait]
impl showdown_store::projection::ReadModelSink for NoReadModels {
    fn name(&self) -> &str {
        match *self {}
    }
    async fn checkpoint(&mut self) -> Result<Option<showdown_store::GlobalPosition>, showdown_store::BoxError> {
        match *self {}
    }
    async fn commit(
        &mut self,
        _: Option<showdown_store::GlobalPosition>,
        _: showdown_store::projection::Batch<'_>,
    ) -> Result<bool, showdown_store::BoxError> {
        match *self {}
    }
    async fn reset(&mut self) -> Result<(), showdown_store::BoxError> {
        match *self {}
    }
}

fn projection_line(
    what: &str,
    p: &showdown_store::projection::Progress,
    elapsed: Option<std::time::Duration>,
) -> String {
    let rate = elapsed.map_or(String::new(), |e| {
        format!(" in {:.2} s: {:.0} events/s", e.as_secs_f64(), p.events as f64 / e.as_secs_f64())
    });
    format!(
        "{what}: {} events projected in {} batches, {} rows{rate}; checkpoint {}; {} events read again to rebuild state, {} batches lost to another runner",
        p.events,
        p.batches,
        p.rows,
        p.position.map_or_else(|| "none".to_owned(), |p| p.0.to_string()),
        p.history,
        p.lost_races,
    )
}

fn project(store: &str, postgres: &str, rebuild: bool, batch: usize) -> anyhow::Result<ExitCode> {
    positive("batch", batch as u64)?;
    runtime()?.block_on(async {
        let store_handle = stores::open(store).await?;
        let sink = read_models(postgres).await?;
        let mut projector = Projector::new(&*store_handle, TableCodec::default(), sink).with_batch(batch);
        let started = Instant::now();
        if rebuild {
            projector.rebuild().await.context("dropping the read models")?;
        }
        let p = projector.catch_up().await.context("projecting the read models")?;
        println!("{}", projection_line(if rebuild { "rebuilt" } else { "caught up" }, &p, Some(started.elapsed())));
        Ok(ExitCode::SUCCESS)
    })
}

fn verify_store(store: &str) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let store_handle = stores::open(store).await?;
        let report = verify::verify(&*store_handle, &TableCodec::default()).await?;
        for problem in &report.problems {
            println!("problem: {problem}");
        }
        println!("{report}");
        Ok(if report.is_consistent() { ExitCode::SUCCESS } else { ExitCode::from(1) })
    })
}

fn stress_store(
    store: &str,
    writers: u32,
    commands: u64,
    table: Option<String>,
    seed: u64,
) -> anyhow::Result<ExitCode> {
    positive("writers", u64::from(writers))?;
    positive("commands", commands)?;
    let table = table.unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        format!("stress-{nanos}")
    });
    let stream = StreamId::new(table.clone()).with_context(|| format!("invalid table name `{table}`"))?;
    runtime()?.block_on(async {
        let store_handle = stores::open(store).await?;
        let service = TableService::new(store_handle, ServiceConfig::default());
        let r = stress(&service, &stream, writers, commands, seed).await?;
        println!(
            "{writers} writers × {commands} commands on {stream}: appended {}, conflicts {}, retries {}, resent {}, rejected {}, gave up {}, lost {}, duplicated {} ({} events in {:.2} s, {:.0} commands/s)",
            r.appended,
            r.conflicts,
            r.retries,
            r.resent,
            r.rejected,
            r.gave_up,
            r.lost,
            r.duplicated,
            r.events,
            r.elapsed.as_secs_f64(),
            r.appended as f64 / r.elapsed.as_secs_f64(),
        );
        Ok(if r.lost == 0 && r.duplicated == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
    })
}

fn export_table(store: &str, table: &str, out: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    let stream = StreamId::new(table).with_context(|| format!("invalid table name `{table}`"))?;
    let hands = runtime()?.block_on(async {
        let store_handle = stores::open(store).await?;
        anyhow::Ok(showdown::export::hands_from_store(&*store_handle, &stream).await?)
    })?;
    let text = showdown::engine::phh::write_phhs(&hands.hands);
    match out {
        Some(path) => std::fs::write(path, &text).with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).context("writing the hands")?;
        }
    }
    if let Some(hand) = hands.unfinished {
        eprintln!("showdown: {stream}: hand {} is still running: left out", hand.0);
    }
    for (hand, why) in &hands.inexact {
        eprintln!("showdown: warning: {stream}: hand {}: {why}", hand.0);
    }
    eprintln!("showdown: {stream}: {} finished hands exported", hands.hands.len());
    Ok(ExitCode::SUCCESS)
}

fn reconcile_table(store: &str, table: &str, branch: &str, json: bool) -> anyhow::Result<ExitCode> {
    let (r, urls) = runtime()?.block_on(showdown::reconcile::reconcile_urls(store, branch, table))?;
    if json {
        println!("{}", showdown::reconcile::json(&r, &urls));
    } else {
        println!("{}", showdown::reconcile::text(&r, &urls));
    }
    Ok(ExitCode::SUCCESS)
}

fn replay(json: bool, files: &[String]) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = 0usize;
    for file in files {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                failed += 1;
                let line = showdown::replay_report::HandLine {
                    file: file.clone(),
                    index: 0,
                    outcome: Err(format!("cannot read the file: {e}")),
                    undetermined_pots: 0,
                };
                writeln!(out, "{}", if json { line.to_json() } else { line.to_text() })?;
                continue;
            }
        };
        for line in replay_text(file, &text) {
            failed += usize::from(line.outcome.is_err());
            writeln!(out, "{}", if json { line.to_json() } else { line.to_text() })?;
        }
    }
    out.flush().context("writing the report")?;
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// 133784560 → "133,784,560".
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (k, ch) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// `showdown chaos`: runs the seeds and prints what they did.
fn chaos(config: &showdown::chaos::ChaosConfig, seeds: u64, threads: Option<usize>) -> anyhow::Result<ExitCode> {
    if seeds == 0 || config.steps == 0 {
        bail!("--seeds and --steps must be at least 1");
    }
    if !(2..=showdown::engine::table::MAX_SEATS as u8).contains(&config.seats) {
        bail!("--seats must be between 2 and {}, not {}", showdown::engine::table::MAX_SEATS, config.seats);
    }
    if config.tables == 0 {
        bail!("--tables must be at least 1");
    }
    let threads = threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    let start = Instant::now();
    let summary = showdown::chaos::run_seeds(config, config.seed, seeds, threads);
    let elapsed = start.elapsed();
    let last = config.seed.wrapping_add(seeds - 1);
    println!(
        "chaos: seeds {}..={last}, {} steps each, {} tables × {} seats{}",
        config.seed,
        config.steps,
        config.tables,
        config.seats,
        config.plant.map_or(String::new(), |p| format!(", planted bug {p:?}"))
    );
    let faults: Vec<String> = summary.faults.kinds().iter().map(|(k, n)| format!("{k} {}", group(*n))).collect();
    println!("faults injected: {} ({})", group(summary.faults.total()), faults.join(" · "));
    println!(
        "checked: {} invariant checks; {} client commands, {} acknowledged (each stored once), {} refused; {} hands, {} events",
        group(summary.counts.checks),
        group(summary.counts.commands),
        group(summary.counts.acknowledged),
        group(summary.counts.refused),
        group(summary.counts.hands),
        group(summary.counts.events)
    );
    println!("hash: {}", summary.hash);
    println!("time: {:.1} s on {threads} threads", elapsed.as_secs_f64());
    if summary.failures.is_empty() {
        println!("result: every invariant held in every seed");
        return Ok(ExitCode::SUCCESS);
    }
    for r in summary.failures.iter().take(10) {
        let v = r.violation.as_ref().expect("a failure has a violation");
        println!("FAILED seed {}: {v}", r.config.seed);
    }
    let first = &summary.failures[0];
    println!(
        "result: {} of {} seeds broke an invariant; reproduce: showdown chaos --seed {} --steps {}",
        summary.failures.len(),
        summary.seeds,
        first.config.seed,
        config.steps
    );
    Ok(ExitCode::from(1))
}
