//! `sessions list|show|create|terminate`: the session commands and their filter flags.

use super::output::{json, note, out};
use super::render::{session_details, session_table};
use super::table::key_values;
use super::terminate::{self, TerminateArgs};
use super::{CliError, Ctx};
use sessiond_core::wire::{FilterParams, ListParams, RegisterRequest};
use sessiond_core::{Clock, Domain, HumanDuration, Session, SystemClock, User};
use std::collections::BTreeMap;

/// The biggest page the server hands out; `--all` walks with it to save round trips.
const MAX_PAGE: u32 = 1000;

#[derive(clap::Subcommand, Debug)]
pub enum SessionsCmd {
    /// List sessions (active ones unless --state says otherwise)
    List(ListArgs),
    /// Show one session, live or ended
    Show(ShowArgs),
    /// Register a session (prints its token, once)
    Create(CreateArgs),
    /// Terminate sessions by id, or every session a filter matches
    Terminate(TerminateArgs),
}

/// The list filters of the native API, one flag each.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// Tenant name (`*` for all tenants; admins of `default` only)
    #[arg(long)]
    pub tenant: Option<String>,
    /// Service name (smb, vsphere, mongodb, …)
    #[arg(long)]
    pub service: Option<String>,
    /// Node the session lives on
    #[arg(long)]
    pub node_id: Option<String>,
    /// Identity (ad:alice, uid:1000, sid:S-1-5-…, a bare name…)
    #[arg(long)]
    pub identity: Option<String>,
    /// Client address: an IP or a CIDR
    #[arg(long)]
    pub originator: Option<String>,
    /// Share (or database, datastore) in use
    #[arg(long)]
    pub share: Option<String>,
    /// active (default), ended or all
    #[arg(long)]
    pub state: Option<String>,
    /// Idle for longer than this (15m, 2h…)
    #[arg(long)]
    pub idle_gt: Option<String>,
    /// Idle for less than this
    #[arg(long)]
    pub idle_lt: Option<String>,
    /// Opened longer ago than this
    #[arg(long)]
    pub age_gt: Option<String>,
    /// Guest sessions only (`--is-guest false`: non-guest only)
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub is_guest: Option<bool>,
    /// The registering service's own id
    #[arg(long)]
    pub external_id: Option<String>,
    /// login or registered
    #[arg(long)]
    pub kind: Option<String>,
    /// Only sessions running an operation (`--op-active false`: idle ones)
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub op_active: Option<bool>,
    /// Current operation's type (query, update, command…)
    #[arg(long)]
    pub op_type: Option<String>,
    /// Current operation's namespace (db.collection)
    #[arg(long)]
    pub op_namespace: Option<String>,
    /// Current operation's plan summary (COLLSCAN, IXSCAN…)
    #[arg(long)]
    pub op_plan_summary: Option<String>,
    /// Current operation running longer than this (1500us, 2s…)
    #[arg(long)]
    pub op_running_gt: Option<String>,
}

impl FilterArgs {
    pub(crate) fn to_params(&self) -> FilterParams {
        FilterParams {
            tenant: self.tenant.clone(),
            service: self.service.clone(),
            node_id: self.node_id.clone(),
            identity: self.identity.clone(),
            originator: self.originator.clone(),
            share: self.share.clone(),
            state: self.state.clone(),
            idle_gt: self.idle_gt.clone(),
            idle_lt: self.idle_lt.clone(),
            age_gt: self.age_gt.clone(),
            is_guest: self.is_guest.map(|b| b.to_string()),
            external_id: self.external_id.clone(),
            kind: self.kind.clone(),
            op_active: self.op_active.map(|b| b.to_string()),
            op_type: self.op_type.clone(),
            op_namespace: self.op_namespace.clone(),
            op_plan_summary: self.op_plan_summary.clone(),
            op_running_gt: self.op_running_gt.clone(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.to_params() == FilterParams::default()
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct ListArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Page size (server default 100, max 1000)
    #[arg(long)]
    pub limit: Option<u32>,
    /// Start after this cursor (the `next` of a previous page)
    #[arg(long)]
    pub after: Option<String>,
    /// Follow `next` through every page
    #[arg(long)]
    pub all: bool,
    /// Print JSON: one page as {"items":[…],"next":…}; with --all, an array of sessions
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug, Clone)]
pub struct ShowArgs {
    /// Session id
    pub id: String,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug, Clone)]
pub struct CreateArgs {
    /// Service that owns the session (smb, vsphere, …)
    #[arg(long)]
    pub service: String,
    /// Tenant name (default: your own)
    #[arg(long)]
    pub tenant: Option<String>,
    #[arg(long)]
    pub node_id: Option<String>,
    /// User name
    #[arg(long)]
    pub user_name: Option<String>,
    /// Identity domain: LOCAL (default), ACTIVE_DIRECTORY (ad), POSIX_USER, POSIX_GROUP, WORLD, …
    #[arg(long, value_parser = parse_domain)]
    pub domain: Option<Domain>,
    /// The user's directory realm (`CORP`, `VSPHERE.LOCAL`); vSphere and Commvault show
    /// `REALM\\name`
    #[arg(long)]
    pub realm: Option<String>,
    #[arg(long)]
    pub sid: Option<String>,
    #[arg(long)]
    pub uid: Option<u32>,
    #[arg(long)]
    pub gid: Option<u32>,
    /// Client address
    #[arg(long)]
    pub originator: Option<String>,
    #[arg(long)]
    pub server_address: Option<String>,
    /// Share (or database, datastore) in use; repeatable
    #[arg(long = "share")]
    pub shares: Vec<String>,
    /// Mark the session as a guest session
    #[arg(long)]
    pub guest: bool,
    /// Idle timeout (30m; 0 = none; default: the server's)
    #[arg(long, value_parser = parse_duration)]
    pub idle_timeout: Option<HumanDuration>,
    /// Absolute timeout (24h; 0 = none; default: the server's)
    #[arg(long, value_parser = parse_duration)]
    pub absolute_timeout: Option<HumanDuration>,
    /// The service's own id for the session
    #[arg(long)]
    pub external_id: Option<String>,
    /// Print JSON ({"session":…,"token":…}) instead of text
    #[arg(long)]
    pub json: bool,
}

pub(crate) async fn run(ctx: &Ctx, cmd: SessionsCmd) -> Result<(), CliError> {
    match cmd {
        SessionsCmd::List(args) => list(ctx, args).await,
        SessionsCmd::Show(args) => show(ctx, args).await,
        SessionsCmd::Create(args) => create(ctx, args).await,
        SessionsCmd::Terminate(args) => terminate::run(ctx, args).await,
    }
}

async fn list(ctx: &Ctx, args: ListArgs) -> Result<(), CliError> {
    let client = ctx.client()?;
    let mut params = ListParams {
        filter: args.filter.to_params(),
        limit: args.limit.map(|l| l.to_string()),
        after: args.after.clone(),
    };
    if !args.all {
        let page = client.list(&params).await?;
        if args.json {
            return json(&page);
        }
        print_sessions(&page.items)?;
        if let Some(next) = &page.next {
            note(&format!(
                "more sessions follow: pass --after {next}, or --all"
            ));
        }
        return Ok(());
    }
    if params.limit.is_none() {
        params.limit = Some(MAX_PAGE.to_string());
    }
    let mut all: Vec<Session> = Vec::new();
    loop {
        let page = client.list(&params).await?;
        all.extend(page.items);
        match page.next {
            // A cursor that does not move would loop forever; the server promises it moves,
            // but a CLI must not hang on a broken one.
            Some(next) if params.after.as_deref() != Some(next.as_str()) => {
                params.after = Some(next);
            }
            Some(_) => {
                return Err(CliError::Io(
                    "the server returned the same cursor twice; stopping".to_owned(),
                ))
            }
            None => break,
        }
    }
    if args.json {
        return json(&all);
    }
    print_sessions(&all)
}

fn print_sessions(sessions: &[Session]) -> Result<(), CliError> {
    if sessions.is_empty() {
        note("no sessions match");
        return Ok(());
    }
    out(&session_table(sessions, SystemClock.now()).render())
}

async fn show(ctx: &Ctx, args: ShowArgs) -> Result<(), CliError> {
    let session = ctx.client()?.get(&args.id).await?;
    if args.json {
        return json(&session);
    }
    out(&session_details(&session, SystemClock.now()))
}

async fn create(ctx: &Ctx, args: CreateArgs) -> Result<(), CliError> {
    let req = RegisterRequest {
        service: args.service,
        tenant: args.tenant,
        node_id: args.node_id,
        external_id: args.external_id,
        user: User {
            domain: args.domain.unwrap_or_default(),
            name: args.user_name,
            sid: args.sid,
            uid: args.uid,
            gid: args.gid,
            auth_id: None,
            full_name: None,
            realm: args.realm,
        },
        originator: args.originator,
        server_address: args.server_address,
        share_names: args.shares,
        is_guest: args.guest,
        is_encrypted: false,
        num_opens: 0,
        user_agent: None,
        locale: None,
        activity: None,
        idle_timeout: args.idle_timeout,
        absolute_timeout: args.absolute_timeout,
        attributes: BTreeMap::new(),
    };
    let resp = ctx.client()?.register(&req).await?;
    if args.json {
        return json(&resp);
    }
    // Printing the token is the point of `create`: the server keeps only its hash, so this
    // is the one chance to see it.
    out(&key_values(&[
        ("id", Some(resp.session.id.to_string())),
        ("token", Some(resp.token.clone())),
    ]))?;
    note("the token is shown only once; keep it now");
    Ok(())
}

fn parse_domain(s: &str) -> Result<Domain, String> {
    let wanted = s.trim().to_ascii_uppercase().replace('-', "_");
    // The identity grammar's prefixes (`ad:`, `ldap_user:`…) are what operators type
    // elsewhere, so they work here too.
    let wanted = match wanted.as_str() {
        "AD" => "ACTIVE_DIRECTORY",
        "LDAP_USER" | "POSIX" => "POSIX_USER",
        "LDAP_GROUP" => "POSIX_GROUP",
        other => other,
    };
    wanted.parse().map_err(|()| {
        let names: Vec<&str> = Domain::ALL.iter().map(|d| d.as_str()).collect();
        format!("unknown domain; one of: {}", names.join(", "))
    })
}

fn parse_duration(s: &str) -> Result<HumanDuration, String> {
    HumanDuration::parse(s).map_err(|e| format!("{e} (examples: 90s, 30m, 24h, 0 for none)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_flags_map_to_params() {
        let f = FilterArgs {
            service: Some("smb".into()),
            is_guest: Some(false),
            ..FilterArgs::default()
        };
        let p = f.to_params();
        assert_eq!(p.service.as_deref(), Some("smb"));
        assert_eq!(p.is_guest.as_deref(), Some("false"));
        assert!(!f.is_empty());
        assert!(FilterArgs::default().is_empty());
    }

    #[test]
    fn domains_parse_leniently() {
        assert_eq!(
            parse_domain("active_directory"),
            Ok(Domain::ActiveDirectory)
        );
        assert_eq!(parse_domain("posix-user"), Ok(Domain::PosixUser));
        assert_eq!(parse_domain("ad"), Ok(Domain::ActiveDirectory));
        assert_eq!(parse_domain("ldap_group"), Ok(Domain::PosixGroup));
        assert!(parse_domain("nope").is_err());
    }
}
