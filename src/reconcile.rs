//! `showdown reconcile --store URL --table ID --branch URL2`: opens both stores (refusing the
//! same store twice, and never creating a SQLite file that is not there), runs
//! [`showdown_store::reconcile::reconcile`] and reports what it found and did, as text or as
//! one JSON object. `docs/RECONCILE.md` explains the rule and the chips.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use showdown_engine::table::PlayerId;
use showdown_store::StreamId;
use showdown_store::codec::TableCodec;
use showdown_store::reconcile::{self, BranchSummary, Compensation, Outcome, Reconciliation, Side};

use crate::stores::{self, StoreUrl};

/// The two store URLs, as given and as shown (without passwords).
#[derive(Clone, Debug)]
pub struct Urls {
    /// `--store`, shown.
    pub store: String,
    /// `--branch`, shown.
    pub branch: String,
}

impl Urls {
    /// The URL of a side, shown.
    #[must_use]
    pub fn of(&self, side: Side) -> &str {
        match side {
            Side::Store => &self.store,
            Side::Branch => &self.branch,
        }
    }
}

/// Checks the two URLs name two different stores that exist, opens them and reconciles
/// `table` in them.
///
/// # Errors
/// A URL no backend takes, the same store twice, a SQLite file that does not exist, a
/// store that cannot be opened, an invalid table name, or any [`reconcile::ReconcileError`]
/// (each naming what was wrong); nothing is written then.
pub async fn reconcile_urls(store: &str, branch: &str, table: &str) -> anyhow::Result<(Reconciliation, Urls)> {
    let stream = StreamId::new(table).with_context(|| format!("invalid table name `{table}`"))?;
    let (a, b): (StoreUrl, StoreUrl) = (store.parse()?, branch.parse()?);
    let urls = Urls { store: a.to_string(), branch: b.to_string() };
    if same_store(&a, &b) {
        bail!("--store and --branch name the same store ({}): reconcile needs the two copies of the table", urls.store);
    }
    for url in [&a, &b] {
        if let StoreUrl::Sqlite(path) = url
            && !Path::new(path).exists()
        {
            bail!("no store at {url}: the file does not exist (reconcile never creates one)");
        }
    }
    let store_handle = stores::open(store).await?;
    let branch_handle = stores::open(branch).await?;
    let r = reconcile::reconcile(&*store_handle, &*branch_handle, &stream, &TableCodec::default()).await?;
    Ok((r, urls))
}

/// Whether two URLs name one store: equal, or SQLite paths to one file.
fn same_store(a: &StoreUrl, b: &StoreUrl) -> bool {
    match (a, b) {
        // Every `memory:` is a store of its own.
        (StoreUrl::Memory, StoreUrl::Memory) => false,
        (StoreUrl::Sqlite(x), StoreUrl::Sqlite(y)) => {
            x == y || matches!((std::fs::canonicalize(x), std::fs::canonicalize(y)), (Ok(p), Ok(q)) if p == q)
        }
        _ => a == b,
    }
}

/// 64 hex digits.
fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn signed(n: i128) -> String {
    if n > 0 { format!("+{n}") } else { n.to_string() }
}

/// Per player: the void hands' refund and the wallet's (each possibly 0).
fn refunds(c: &Compensation) -> BTreeMap<PlayerId, (i128, i128)> {
    let mut out: BTreeMap<PlayerId, (i128, i128)> = BTreeMap::new();
    for (p, v) in c.hand_refunds() {
        out.entry(p).or_default().0 = v;
    }
    for (p, v) in c.wallet_refunds() {
        out.entry(p).or_default().1 = v;
    }
    out
}

fn summary_line(s: &BranchSummary, urls: &Urls) -> String {
    format!(
        "  {:<6} ({}): {} events, {} hands dealt and {} finished after the fork, up to version {}; branch hash {}",
        s.side.name(),
        urls.of(s.side),
        s.events,
        s.hands_started,
        s.hands_finished,
        s.last_version.0,
        hex(&s.hash)
    )
}

/// The report as text, one fact a line.
#[must_use]
pub fn text(r: &Reconciliation, urls: &Urls) -> String {
    let mut out = Vec::new();
    out.push(format!("{}: fork at version {} (the last event both stores hold)", r.stream, r.fork.0));
    out.push(summary_line(&r.store, urls));
    out.push(summary_line(&r.branch, urls));
    match &r.outcome {
        Outcome::InStep => out.push("already in step: both stores hold the same events; nothing appended".to_owned()),
        Outcome::Ahead { side, events } => out.push(format!(
            "already in step: the {side} ({}) is ahead by {events} events and nothing diverged; nothing appended",
            urls.of(*side)
        )),
        Outcome::AlreadyReconciled { canonical, rule, through } => {
            out.push(format!("canonical: the {canonical} ({}), because {rule}", urls.of(*canonical)));
            out.push(format!(
                "already reconciled: the {canonical} voids the {} through version {}; nothing appended",
                canonical.other(),
                through.0
            ));
        }
        Outcome::Compensate { canonical, rule, compensation: c } => {
            out.push(format!("canonical: the {canonical} ({}), because {rule}", urls.of(*canonical)));
            let finished = c.hands.iter().filter(|h| h.finished).count();
            let numbers: Vec<String> = c.hands.iter().map(|h| h.hand.0.to_string()).collect();
            out.push(format!(
                "voided: the {} from version {} through {}: {} hands ({finished} finished){}{}",
                c.losing,
                c.from.0,
                c.through.0,
                c.hands.len(),
                if numbers.is_empty() { "" } else { ": " },
                numbers.join(", ")
            ));
            let refunds = refunds(c);
            if refunds.is_empty() {
                out.push("refunds: none (no player's chips moved on the voided branch)".to_owned());
            } else {
                out.push(
                    "refunds per player (void hands: committed − awarded, booked as void_refund; wallet: bought in − cashed out on the voided branch, for the wallet to give back):"
                        .to_owned(),
                );
                for (player, (hands, wallet)) in refunds {
                    out.push(format!("  {player}: void hands {}, wallet {}", signed(hands), signed(wallet)));
                }
            }
            match &r.appended {
                Some(a) => out.push(format!(
                    "appended: {} events to {} in the {canonical} ({}), versions {} to {}, command {:032x}{}",
                    c.events.len(),
                    r.stream,
                    urls.of(*canonical),
                    a.first_version.0,
                    a.last_version.0,
                    c.command.0,
                    if a.deduplicated { " (another run had appended them: nothing new)" } else { "" }
                )),
                None => out.push("appended: nothing (planned only)".to_owned()),
            }
        }
    }
    out.join("\n")
}

fn summary_json(s: &BranchSummary, urls: &Urls) -> Value {
    json!({
        "url": urls.of(s.side),
        "events": s.events,
        "hands_started": s.hands_started,
        "hands_finished": s.hands_finished,
        "last_version": s.last_version.0,
        "hash": hex(&s.hash),
    })
}

/// A signed chip count as a JSON number, or as a string beyond what a 64-bit integer holds.
fn number(n: i128) -> Value {
    i64::try_from(n).map_or_else(|_| Value::String(n.to_string()), Value::from)
}

/// The report as one JSON object.
#[must_use]
pub fn json(r: &Reconciliation, urls: &Urls) -> Value {
    let mut v = json!({
        "table": r.stream.as_str(),
        "fork": r.fork.0,
        "store": summary_json(&r.store, urls),
        "branch": summary_json(&r.branch, urls),
    });
    let fields = match &r.outcome {
        Outcome::InStep => json!({ "outcome": "in_step" }),
        Outcome::Ahead { side, events } => json!({ "outcome": "ahead", "ahead": side.name(), "events": events }),
        Outcome::AlreadyReconciled { canonical, rule, through } => json!({
            "outcome": "already_reconciled",
            "canonical": canonical.name(),
            "rule": rule.to_string(),
            "voided_through": through.0,
        }),
        Outcome::Compensate { canonical, rule, compensation: c } => json!({
            "outcome": "reconciled",
            "canonical": canonical.name(),
            "rule": rule.to_string(),
            "voided": {
                "side": c.losing.name(),
                "from": c.from.0,
                "through": c.through.0,
                "hash": hex(&c.branch),
            },
            "hands": c.hands.iter().map(|h| json!({
                "hand": h.hand.0,
                "finished": h.finished,
                "moves": h.moves.iter().map(|m| json!({
                    "seat": m.seat.0,
                    "player": m.player.0,
                    "committed": m.committed.0,
                    "awarded": m.awarded.0,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "edge": c.edge.iter().map(|e| json!({
                "seat": e.seat.0,
                "player": e.player.0,
                "bought_in": e.bought_in.0,
                "cashed_out": e.cashed_out.0,
            })).collect::<Vec<_>>(),
            "refunds": refunds(c).into_iter().map(|(p, (hands, wallet))| json!({
                "player": p.0,
                "void_hands": number(hands),
                "wallet": number(wallet),
            })).collect::<Vec<_>>(),
            "command": format!("{:032x}", c.command.0),
            "appended": r.appended.map(|a| json!({
                "store": canonical.name(),
                "first_version": a.first_version.0,
                "last_version": a.last_version.0,
                "events": c.events.len(),
                "deduplicated": a.deduplicated,
            })),
        }),
    };
    if let (Value::Object(v), Value::Object(f)) = (&mut v, fields) {
        v.extend(f);
    }
    v
}
