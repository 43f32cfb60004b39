//! The `showdown` command-line tool. Every subcommand exits non-zero with a one-line
//! reason on bad input.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use showdown::engine::eval::{self, Category};
use showdown::replay_report::replay_text;
use showdown::sim::{Path, simulate_with};

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
    match run(Cli::parse()) {
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
