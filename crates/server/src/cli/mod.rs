//! The `sessiond` client commands (`login`, `sessions …`, `principals …`, `tenants …`,
//! `events watch`, `webhooks …`): they talk to a running server through the native API with the typed
//! client.

mod access_keys;
mod admin;
mod auth;
mod credentials;
mod events;
mod output;
mod prompt;
mod render;
mod sessions;
mod table;
mod terminate;
mod webhooks;

use access_keys::AccessKeysCmd;
use admin::{PrincipalsCmd, TenantsCmd};
use auth::{LoginArgs, WhoamiArgs};
use sessions::SessionsCmd;

use credentials::Credentials;
use sessiond_client::{Client, ClientError};
use std::path::PathBuf;

/// Where the CLI goes when neither `--server` nor a saved login says otherwise.
pub const DEFAULT_SERVER: &str = "https://127.0.0.1:8000";

/// Connection options shared by every client command.
#[derive(clap::Args, Debug, Clone)]
pub struct ClientOpts {
    /// Server URL (default: the one saved by `sessiond login`, else https://127.0.0.1:8000)
    #[arg(long, global = true, env = "SESSIOND_SERVER")]
    pub server: Option<String>,
    /// Accept a self-signed server certificate
    #[arg(long, global = true, env = "SESSIOND_INSECURE", value_parser = clap::builder::BoolishValueParser::new())]
    pub insecure: bool,
}

/// The client commands; the binary flattens these into its top-level subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum ClientCommand {
    /// Log in to a server and save the token for the following commands
    Login(LoginArgs),
    /// End the saved login session and forget its token
    Logout,
    /// Show who the saved login is
    Whoami(WhoamiArgs),
    /// List, show, register and terminate sessions
    // Boxed: its flags make it far bigger than the other variants (clippy's
    // large_enum_variant), also in the binary's enum that flattens this one.
    #[command(subcommand)]
    Sessions(Box<SessionsCmd>),
    /// Manage API principals (admin)
    #[command(subcommand)]
    Principals(PrincipalsCmd),
    /// Manage tenants (admin)
    #[command(subcommand)]
    Tenants(TenantsCmd),
    /// Manage principals' access keys for signed requests (admin)
    #[command(subcommand)]
    AccessKeys(AccessKeysCmd),
    /// Follow session events (terminations, expiries, new sessions…)
    #[command(subcommand)]
    Events(events::EventsCmd),
    /// Manage webhooks that receive session events
    #[command(subcommand)]
    Webhooks(webhooks::WebhooksCmd),
}

/// Why a client command failed. `Display` is the message for stderr without the leading
/// `error: ` (the binary adds it), possibly followed by a `hint:` line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The server refused the request.
    #[error("{message} ({code})")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    /// A 401: the saved token no longer authenticates.
    #[error(
        "{message} ({code})\nhint: the saved login has ended or expired; run `sessiond login`"
    )]
    Unauthenticated { code: String, message: String },
    /// No saved login for this server.
    #[error("not logged in to {server}\nhint: run `{hint}`")]
    NotLoggedIn { server: String, hint: String },
    /// The server could not be reached (or TLS failed).
    #[error("{message}{hint}")]
    Transport { message: String, hint: String },
    /// Anything else from the client: an unreadable answer, a bad URL.
    #[error("{0}")]
    Client(ClientError),
    /// The command line does not make sense (conflicting or missing arguments).
    #[error("{0}")]
    Usage(String),
    /// Local I/O: the credentials file, stdin, stdout.
    #[error("{0}")]
    Io(String),
    /// A bulk terminate by ids in which some items failed.
    #[error("{failed} of {total} sessions were not terminated")]
    PartialFailure { failed: usize, total: usize },
    /// The operator answered no to the confirmation.
    #[error("aborted; nothing was terminated")]
    Aborted,
}

impl From<ClientError> for CliError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Api {
                status: 401,
                code,
                message,
            } => CliError::Unauthenticated { code, message },
            ClientError::Api {
                status,
                code,
                message,
            } => CliError::Api {
                status,
                code,
                message,
            },
            ClientError::Transport(message) => {
                // rustls reports a self-signed certificate as an unknown issuer; the fix is a
                // flag the user may not know about.
                let hint = if message.contains("certificate") || message.contains("UnknownIssuer") {
                    "\nhint: for a server with a self-signed certificate pass --insecure"
                } else if message.contains("cannot connect") {
                    "\nhint: is sessiond running there? --server URL picks another server"
                } else {
                    ""
                };
                CliError::Transport {
                    message,
                    hint: hint.to_owned(),
                }
            }
            other => CliError::Client(other),
        }
    }
}

/// Runs one client command.
pub async fn run(opts: ClientOpts, cmd: ClientCommand) -> Result<(), CliError> {
    let ctx = Ctx::resolve(&opts, matches!(cmd, ClientCommand::Login(_)))?;
    match cmd {
        ClientCommand::Login(args) => auth::login(&ctx, args).await,
        ClientCommand::Logout => auth::logout(&ctx).await,
        ClientCommand::Whoami(args) => auth::whoami(&ctx, args).await,
        ClientCommand::Sessions(cmd) => sessions::run(&ctx, *cmd).await,
        ClientCommand::Principals(cmd) => admin::principals(&ctx, cmd).await,
        ClientCommand::Tenants(cmd) => admin::tenants(&ctx, cmd).await,
        ClientCommand::AccessKeys(cmd) => access_keys::access_keys(&ctx, cmd).await,
        ClientCommand::Events(cmd) => events::events(&ctx, cmd).await,
        ClientCommand::Webhooks(cmd) => webhooks::webhooks(&ctx, cmd).await,
    }
}

/// Which server to talk to, how, and with which saved login.
pub(crate) struct Ctx {
    server: String,
    insecure: bool,
    /// The saved login, only when it belongs to `server`: a token is never sent to a server
    /// other than the one that issued it.
    creds: Option<Credentials>,
    creds_path: PathBuf,
}

impl Ctx {
    /// `for_login`: an unreadable credentials file is ignored, since logging in again is
    /// exactly what repairs it.
    fn resolve(opts: &ClientOpts, for_login: bool) -> Result<Ctx, CliError> {
        let creds_path = credentials::default_path()?;
        let saved = match credentials::load(&creds_path) {
            Ok(saved) => saved,
            Err(_) if for_login => None,
            Err(e) => return Err(e),
        };
        let server = match (&opts.server, &saved) {
            (Some(s), _) => normalize_server(s),
            (None, Some(c)) => normalize_server(&c.server),
            (None, None) => DEFAULT_SERVER.to_owned(),
        };
        let creds = saved.filter(|c| normalize_server(&c.server) == server);
        let insecure = opts.insecure || creds.as_ref().is_some_and(|c| c.insecure);
        Ok(Ctx {
            server,
            insecure,
            creds,
            creds_path,
        })
    }

    /// A client without a token (for `login`).
    fn anonymous(&self) -> Result<Client, CliError> {
        Ok(Client::new(&self.server, self.insecure)?)
    }

    /// A client with the saved token, or the "run sessiond login" error.
    fn client(&self) -> Result<Client, CliError> {
        match &self.creds {
            Some(c) => Ok(self.anonymous()?.with_token(c.token.clone())),
            None => Err(self.not_logged_in()),
        }
    }

    fn not_logged_in(&self) -> CliError {
        let hint = if self.server == DEFAULT_SERVER {
            "sessiond login".to_owned()
        } else {
            format!("sessiond login --server {}", self.server)
        };
        CliError::NotLoggedIn {
            server: self.server.clone(),
            hint,
        }
    }
}

/// `http://h:1/` and `http://h:1` are the same server for the saved-login check.
fn normalize_server(s: &str) -> String {
    s.trim().trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::terminate::ModeArg;
    use super::*;

    #[test]
    fn api_errors_render_with_their_code() {
        let e: CliError = ClientError::Api {
            status: 404,
            code: "session_not_found".into(),
            message: "no such session".into(),
        }
        .into();
        assert_eq!(e.to_string(), "no such session (session_not_found)");
        let e: CliError = ClientError::Api {
            status: 401,
            code: "unauthenticated".into(),
            message: "bad token".into(),
        }
        .into();
        assert!(e.to_string().contains("sessiond login"), "{e}");
    }

    /// The shape the binary uses: options flattened at the top, commands flattened into its
    /// own subcommand enum.
    #[derive(clap::Parser, Debug)]
    struct TopLevel {
        #[command(flatten)]
        opts: ClientOpts,
        #[command(subcommand)]
        cmd: Top,
    }

    #[derive(clap::Subcommand, Debug)]
    enum Top {
        #[command(flatten)]
        Client(ClientCommand),
    }

    fn parse(args: &[&str]) -> Result<TopLevel, clap::Error> {
        use clap::Parser;
        TopLevel::try_parse_from(std::iter::once("sessiond").chain(args.iter().copied()))
    }

    #[test]
    fn command_tree_is_consistent() {
        use clap::CommandFactory;
        TopLevel::command().debug_assert();
    }

    #[test]
    fn command_lines_parse() {
        let p = parse(&[
            "sessions",
            "terminate",
            "01HZZZZZZZZZZZZZZZZZZZZZZZ",
            "--mode",
            "stop_on_error",
            "--server",
            "http://h:1",
            "-y",
        ])
        .expect("terminate by ids");
        assert_eq!(p.opts.server.as_deref(), Some("http://h:1"));
        let Top::Client(ClientCommand::Sessions(cmd)) = p.cmd else {
            panic!("not sessions: {:?}", p.cmd)
        };
        let SessionsCmd::Terminate(t) = *cmd else {
            panic!("not terminate")
        };
        assert_eq!(t.ids.len(), 1);
        assert_eq!(t.mode, ModeArg::StopOnError);
        assert!(t.yes && t.filter.is_empty());

        let p = parse(&[
            "sessions",
            "list",
            "--is-guest",
            "--service",
            "smb",
            "--all",
        ])
        .expect("list");
        let Top::Client(ClientCommand::Sessions(cmd)) = p.cmd else {
            panic!("not sessions")
        };
        let SessionsCmd::List(l) = *cmd else {
            panic!("not list")
        };
        assert_eq!(l.filter.is_guest, Some(true));
        assert!(l.all);

        assert!(parse(&["login", "--password-stdin", "-u", "ops"]).is_ok());
        assert!(parse(&["principals", "set-role", "ops", "operator"]).is_ok());
        assert!(parse(&["principals", "set-role", "ops", "root"]).is_err());
        assert!(parse(&[
            "sessions",
            "create",
            "--idle-timeout",
            "soon",
            "--service",
            "s"
        ])
        .is_err());
        assert!(parse(&["tenants", "create", "acme", "--json"]).is_ok());
    }

    #[test]
    fn servers_compare_without_trailing_slash() {
        assert_eq!(normalize_server(" http://h:1/ "), "http://h:1");
    }
}
