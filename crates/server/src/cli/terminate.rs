//! `sessions terminate`: by ids (per-item results), or by filter (dry run, confirmation,
//! then chunked calls pinned by the dry run's `confirm` token, with a progress bar).

use super::output::{json, note, out};
use super::render::session_table;
use super::sessions::FilterArgs;
use super::table::clean;
use super::{prompt, CliError, Ctx};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sessiond_client::Client;
use sessiond_core::rules::bulk::BulkMode;
use sessiond_core::wire::{FilterParams, TerminateRequest, TerminateResponse};
use sessiond_core::{Clock, SystemClock};
use std::io::IsTerminal;

/// Sessions ended per call of a filter terminate: big enough that 100,000 take 20 calls,
/// small enough that each call is short and the progress bar moves.
const CHUNK: u64 = 5000;

#[derive(clap::Args, Debug, Clone)]
pub struct TerminateArgs {
    /// Session ids (no confirmation asked); or give filter flags instead
    pub ids: Vec<String>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// What to do when an item fails
    #[arg(long, value_enum, default_value_t = ModeArg::BestEffort)]
    pub mode: ModeArg,
    /// Only show what would be terminated
    #[arg(long)]
    pub dry_run: bool,
    /// Reason recorded with each terminated session
    #[arg(long)]
    pub reason: Option<String>,
    /// Do not ask for confirmation (required when stdin is not a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

/// The bulk modes, spelled as on the wire.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeArg {
    /// Try every session; report each failure
    #[value(name = "best_effort", alias = "best-effort")]
    BestEffort,
    /// Stop at the first failure; earlier ones stay terminated
    #[value(name = "stop_on_error", alias = "stop-on-error")]
    StopOnError,
    /// Terminate all or none
    #[value(name = "all_or_nothing", alias = "all-or-nothing")]
    AllOrNothing,
}

impl From<ModeArg> for BulkMode {
    fn from(m: ModeArg) -> BulkMode {
        match m {
            ModeArg::BestEffort => BulkMode::BestEffort,
            ModeArg::StopOnError => BulkMode::StopOnError,
            ModeArg::AllOrNothing => BulkMode::AllOrNothing,
        }
    }
}

pub(crate) async fn run(ctx: &Ctx, args: TerminateArgs) -> Result<(), CliError> {
    match (args.ids.is_empty(), args.filter.is_empty()) {
        (false, false) => Err(CliError::Usage(
            "give either session ids or filter flags, not both".to_owned(),
        )),
        // Refusing an empty filter keeps a forgotten flag from meaning "everything".
        (true, true) => Err(CliError::Usage(
            "nothing to terminate: give session ids or at least one filter flag".to_owned(),
        )),
        (false, true) => by_ids(&ctx.client()?, args).await,
        (true, false) => by_filter(&ctx.client()?, args).await,
    }
}

async fn by_ids(client: &Client, args: TerminateArgs) -> Result<(), CliError> {
    let total = args.ids.len();
    let req = TerminateRequest {
        ids: Some(args.ids),
        mode: args.mode.into(),
        dry_run: args.dry_run,
        reason: args.reason,
        ..TerminateRequest::default()
    };
    let resp = client.terminate(&req).await?;
    match &resp {
        TerminateResponse::Ids {
            terminated,
            results,
        } => {
            let failed: Vec<_> = results.iter().filter(|r| !r.ok).collect();
            if args.json {
                json(&resp)?;
            } else {
                let mut text = String::new();
                for r in &failed {
                    let why = r.error.as_deref().unwrap_or("failed");
                    text.push_str(&format!("{}: {}\n", clean(&r.id), clean(why)));
                }
                text.push_str(&format!(
                    "terminated {terminated} of {}",
                    sessions(total as u64)
                ));
                out(&text)?;
            }
            if failed.is_empty() {
                Ok(())
            } else {
                Err(CliError::PartialFailure {
                    failed: failed.len(),
                    total,
                })
            }
        }
        TerminateResponse::DryRun {
            would_terminate,
            items,
            ..
        } => {
            if args.json {
                return json(&resp);
            }
            let mut text = session_table(items, SystemClock.now()).render();
            text.push_str(&format!(
                "would terminate {would_terminate} of {}",
                sessions(total as u64)
            ));
            out(&text)
        }
        TerminateResponse::Filter { terminated, .. } => {
            if args.json {
                return json(&resp);
            }
            out(&format!(
                "terminated {terminated} of {}",
                sessions(total as u64)
            ))
        }
    }
}

async fn by_filter(client: &Client, args: TerminateArgs) -> Result<(), CliError> {
    let filter = args.filter.to_params();
    let mode: BulkMode = args.mode.into();
    // The dry run gives the count to confirm and the token that pins the set: sessions that
    // start matching after this moment are not touched by the real calls.
    let preview = client
        .terminate(&TerminateRequest {
            filter: Some(filter.clone()),
            mode,
            dry_run: true,
            reason: args.reason.clone(),
            ..TerminateRequest::default()
        })
        .await?;
    let TerminateResponse::DryRun {
        would_terminate,
        items,
        confirm,
    } = &preview
    else {
        return Err(CliError::Client(sessiond_client::ClientError::Decode(
            "the dry run did not answer with a preview".to_owned(),
        )));
    };
    let would = *would_terminate;
    if args.dry_run {
        if args.json {
            return json(&preview);
        }
        let mut text = String::new();
        if !items.is_empty() {
            text = session_table(items, SystemClock.now()).render();
            if (items.len() as u64) < would {
                text.push_str(&format!("… and {} more\n", would - items.len() as u64));
            }
        }
        text.push_str(&format!("would terminate {}", sessions(would)));
        return out(&text);
    }
    if would == 0 {
        return if args.json {
            json(&serde_json::json!({ "terminated": 0 }))
        } else {
            out("no sessions match; nothing terminated")
        };
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(CliError::Usage(format!(
                "refusing to terminate {} without confirmation: \
                 stdin is not a terminal; pass --yes",
                sessions(would)
            )));
        }
        if !prompt::confirm(&format!("Terminate {}?", sessions(would)))? {
            return Err(CliError::Aborted);
        }
    }
    let total = run_chunks(client, &filter, mode, confirm, args.reason, would).await?;
    if args.json {
        json(&serde_json::json!({ "terminated": total.terminated, "remaining": total.remaining }))
    } else {
        let mut text = format!("terminated {}", sessions(total.terminated));
        if total.remaining > 0 {
            text.push_str(&format!(
                " ({} matching sessions were left)",
                total.remaining
            ));
        }
        out(&text)
    }
}

struct Totals {
    terminated: u64,
    remaining: u64,
}

/// The real terminate, `CHUNK` at a time, following `next` until nothing remains.
async fn run_chunks(
    client: &Client,
    filter: &FilterParams,
    mode: BulkMode,
    confirm: &str,
    reason: Option<String>,
    would: u64,
) -> Result<Totals, CliError> {
    let bar = progress_bar(would);
    let mut totals = Totals {
        terminated: 0,
        remaining: 0,
    };
    let mut after: Option<String> = None;
    loop {
        let req = TerminateRequest {
            filter: Some(filter.clone()),
            mode,
            confirm: Some(confirm.to_owned()),
            reason: reason.clone(),
            limit: Some(CHUNK),
            after: after.clone(),
            ..TerminateRequest::default()
        };
        let resp = match client.terminate(&req).await {
            Ok(r) => r,
            Err(e) => {
                bar.abandon();
                if totals.terminated > 0 {
                    note(&format!(
                        "{} terminated before the error",
                        sessions(totals.terminated)
                    ));
                }
                return Err(e.into());
            }
        };
        let (done, remaining, next) = match resp {
            TerminateResponse::Filter {
                terminated,
                remaining,
                next,
            } => (terminated, remaining, next),
            // A server that did everything in one go answers like an ids call.
            TerminateResponse::Ids { terminated, .. } => (terminated, None, None),
            TerminateResponse::DryRun { .. } => {
                bar.abandon();
                return Err(CliError::Client(sessiond_client::ClientError::Decode(
                    "the server answered a terminate with a preview".to_owned(),
                )));
            }
        };
        totals.terminated += done;
        bar.inc(done);
        totals.remaining = remaining.unwrap_or(0);
        if totals.remaining == 0 {
            break;
        }
        match next {
            Some(n) if after.as_deref() != Some(n.as_str()) => after = Some(n),
            // No cursor, or one that did not move: going on could only repeat the same call.
            // Sessions may be left (their owner closed them meanwhile, or they failed).
            _ if done == 0 => break,
            n => after = n,
        }
    }
    bar.finish_and_clear();
    Ok(totals)
}

/// `1 session`, `2 sessions`.
fn sessions(n: u64) -> String {
    if n == 1 {
        "1 session".to_owned()
    } else {
        format!("{n} sessions")
    }
}

/// A bar on stderr when a person watches it; hidden otherwise, so logs stay clean.
fn progress_bar(len: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{bar:40.cyan/blue} {pos}/{len} sessions terminated (eta {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}
