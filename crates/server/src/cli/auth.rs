//! `login`, `logout` and `whoami`: the saved login's life cycle.

use super::credentials::{self, Credentials};
use super::output::{json, out};
use super::table::key_values;
use super::{prompt, CliError, Ctx};
use sessiond_client::ClientError;

#[derive(clap::Args, Debug, Clone)]
pub struct LoginArgs {
    /// Principal to log in as
    #[arg(long, short = 'u', default_value = "admin")]
    pub username: String,
    /// Read the password from the first line of stdin (else: a prompt on a terminal, else
    /// $SESSIOND_PASSWORD)
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(clap::Args, Debug, Clone)]
pub struct WhoamiArgs {
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

pub(crate) async fn login(ctx: &Ctx, args: LoginArgs) -> Result<(), CliError> {
    let password = prompt::login_password(
        args.password_stdin,
        &format!("Password for {} at {}: ", args.username, ctx.server),
    )?;
    let client = ctx.anonymous()?;
    let resp = client.login(&args.username, &password).await?;
    credentials::save(
        &ctx.creds_path,
        &Credentials {
            server: ctx.server.clone(),
            token: resp.token,
            insecure: ctx.insecure,
        },
    )?;
    // The token itself is never printed: it is as good as the password until it expires.
    let expires = resp
        .expires_at
        .map(|t| format!(", expires {t}"))
        .unwrap_or_default();
    out(&format!(
        "Logged in to {} as {} (session {}{expires})",
        ctx.server, args.username, resp.session_id
    ))
}

pub(crate) async fn logout(ctx: &Ctx) -> Result<(), CliError> {
    let client = ctx.client()?;
    match client.logout().await {
        Ok(()) => {}
        // The session already ended (expired, terminated): forgetting the token is all that
        // is left to do.
        Err(ClientError::Api {
            status: 401 | 404, ..
        }) => {}
        // Unreachable server and the like: keep the token so that logout can be retried and
        // the session really ends.
        Err(e) => return Err(e.into()),
    }
    credentials::remove(&ctx.creds_path)?;
    out(&format!("Logged out of {}", ctx.server))
}

pub(crate) async fn whoami(ctx: &Ctx, args: WhoamiArgs) -> Result<(), CliError> {
    let me = ctx.client()?.whoami().await?;
    if args.json {
        return json(&me);
    }
    out(&key_values(&[
        ("name", Some(me.name.clone())),
        ("role", Some(me.role.as_str().to_owned())),
        ("tenant", Some(format!("{} ({})", me.tenant, me.tenant_id))),
        ("session", Some(me.session_id.clone())),
        ("privileges", Some(me.privileges.join(", "))),
        ("server", Some(ctx.server.clone())),
    ]))
}
