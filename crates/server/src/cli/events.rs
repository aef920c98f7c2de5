//! `sessiond events watch`: follows the server's event stream, one line per event, and
//! resumes after a disconnect from the last event it printed (nothing is lost or repeated
//! within the server's retention).

use super::render::{time_short, user_label};
use super::{CliError, Ctx};
use sessiond_client::{ClientError, EventsParams};
use sessiond_core::events::{Event, EventId, EventType};
use std::io::Write;
use std::time::Duration;

#[derive(clap::Subcommand, Debug)]
pub enum EventsCmd {
    /// Print session events as they happen (until interrupted)
    Watch(WatchArgs),
}

#[derive(clap::Args, Debug)]
pub struct WatchArgs {
    /// Only these types, comma-separated (session.created, session.closed,
    /// session.terminated, session.expired, principal.disabled)
    #[arg(long)]
    types: Option<String>,
    /// Only sessions of this service
    #[arg(long)]
    service: Option<String>,
    /// A tenant's name, or * for all (the default tenant's admin)
    #[arg(long)]
    tenant: Option<String>,
    /// Start after this event id instead of at the present
    #[arg(long)]
    after: Option<EventId>,
    /// One JSON object per line instead of text
    #[arg(long)]
    json: bool,
}

/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub(crate) async fn events(ctx: &Ctx, cmd: EventsCmd) -> Result<(), CliError> {
    match cmd {
        EventsCmd::Watch(args) => watch(ctx, args).await,
    }
}

async fn watch(ctx: &Ctx, args: WatchArgs) -> Result<(), CliError> {
    let client = ctx.client()?;
    let types = match &args.types {
        Some(t) => EventType::parse_list(t).map_err(CliError::Usage)?,
        None => Vec::new(),
    };
    let params = EventsParams {
        types,
        service: args.service.clone(),
        tenant: args.tenant.clone(),
    };
    let mut after = args.after;
    let mut backoff = Duration::from_millis(500);
    loop {
        let mut stream = match client.events(&params, after).await {
            Ok(s) => s,
            Err(e @ ClientError::Transport(_)) => {
                super::output::note(&format!("{e}; retrying in {backoff:?}"));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        loop {
            match stream.next().await {
                Ok(Some(e)) => {
                    backoff = Duration::from_millis(500);
                    after = Some(e.id);
                    if !print(&e, args.json)? {
                        return Ok(());
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    super::output::note(&format!("{e}; reconnecting"));
                    break;
                }
            }
        }
        // The server announces where a stream starts, so a reconnect resumes there even
        // before the first event: nothing written in between is skipped.
        after = stream.last_id().or(after);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Prints one event; `false` when stdout is closed (`… | head`), which ends the watch.
fn print(e: &Event, as_json: bool) -> Result<bool, CliError> {
    let line = if as_json {
        serde_json::to_string(e)
            .map_err(|err| CliError::Io(format!("cannot encode JSON: {err}")))?
    } else {
        text(e)
    };
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(err) => Err(CliError::Io(format!("cannot write to stdout: {err}"))),
    }
}

fn text(e: &Event) -> String {
    let head = format!(
        "{:>8}  {}  {:<19} {}",
        e.id,
        time_short(e.at),
        e.kind.as_str(),
        e.tenant
    );
    match (&e.session, &e.principal) {
        (Some(s), _) => {
            let mut line = format!("{head}  {}  {}  {}", s.id, s.service, user_label(&s.user));
            if let Some(by) = &s.ended_by {
                line.push_str(&format!("  by {by}"));
            }
            if let Some(r) = &s.end_reason {
                line.push_str(&format!(": {r}"));
            }
            line
        }
        (None, Some(p)) => format!("{head}  principal {}", p.name),
        (None, None) => head,
    }
}
