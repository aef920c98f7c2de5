//! `principals …` and `tenants …`: administration through the native API (System.Admin).

use super::output::{json, out};
use super::table::{key_values, Table};
use super::{prompt, CliError, Ctx};
use sessiond_core::wire::{CreatePrincipal, PrincipalView, UpdatePrincipal};
use sessiond_core::Role;

#[derive(clap::Subcommand, Debug)]
pub enum PrincipalsCmd {
    /// List principals
    List {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Create a principal (the password is prompted for, or read with --password-stdin)
    Create {
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Tenant name (default: yours)
        #[arg(long)]
        tenant: Option<String>,
        /// Read the password from the first line of stdin
        #[arg(long)]
        password_stdin: bool,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Show one principal
    Show {
        name: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Disable a principal: ends its logins and revokes its access keys
    Disable { name: String },
    /// Enable a disabled principal
    Enable { name: String },
    /// Set a principal's password
    SetPassword {
        name: String,
        /// Read the password from the first line of stdin
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a principal's role
    SetRole {
        name: String,
        #[arg(value_enum)]
        role: RoleArg,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum TenantsCmd {
    /// List tenants
    List {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Create a tenant (name: [a-z0-9][a-z0-9_-]{0,63})
    Create {
        name: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
}

/// The roles, as clap values (so that help and completions list them).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleArg {
    /// Sessions.Read
    Viewer,
    /// Sessions.Read, Sessions.Register
    Service,
    /// viewer + Sessions.TerminateSession
    Operator,
    /// everything, incl. System.Admin
    Admin,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Viewer => Role::Viewer,
            RoleArg::Service => Role::Service,
            RoleArg::Operator => Role::Operator,
            RoleArg::Admin => Role::Admin,
        }
    }
}

pub(crate) async fn principals(ctx: &Ctx, cmd: PrincipalsCmd) -> Result<(), CliError> {
    let client = ctx.client()?;
    match cmd {
        PrincipalsCmd::List { json: as_json } => {
            let list = client.list_principals().await?;
            if as_json {
                return json(&list);
            }
            out(&principals_table(&list))
        }
        PrincipalsCmd::Create {
            name,
            role,
            tenant,
            password_stdin,
            json: as_json,
        } => {
            let password = prompt::new_password(password_stdin, &name)?;
            let created = client
                .create_principal(&CreatePrincipal {
                    name,
                    password,
                    role: role.into(),
                    tenant,
                })
                .await?;
            if as_json {
                return json(&created);
            }
            out(&format!(
                "created principal {} (role {}, tenant {})",
                created.name,
                created.role.as_str(),
                created.tenant
            ))
        }
        PrincipalsCmd::Show {
            name,
            json: as_json,
        } => {
            let p = client.get_principal(&name).await?;
            if as_json {
                return json(&p);
            }
            out(&principal_details(&p))
        }
        PrincipalsCmd::Disable { name } => {
            let p = update(ctx, &name, |u| u.disabled = Some(true)).await?;
            out(&format!("disabled principal {}", p.name))
        }
        PrincipalsCmd::Enable { name } => {
            let p = update(ctx, &name, |u| u.disabled = Some(false)).await?;
            out(&format!("enabled principal {}", p.name))
        }
        PrincipalsCmd::SetPassword {
            name,
            password_stdin,
        } => {
            let password = prompt::new_password(password_stdin, &name)?;
            let p = update(ctx, &name, |u| u.password = Some(password)).await?;
            out(&format!("set the password of principal {}", p.name))
        }
        PrincipalsCmd::SetRole { name, role } => {
            let p = update(ctx, &name, |u| u.role = Some(role.into())).await?;
            out(&format!(
                "principal {} now has role {}",
                p.name,
                p.role.as_str()
            ))
        }
    }
}

async fn update(
    ctx: &Ctx,
    name: &str,
    set: impl FnOnce(&mut UpdatePrincipal),
) -> Result<PrincipalView, CliError> {
    let mut req = UpdatePrincipal::default();
    set(&mut req);
    Ok(ctx.client()?.update_principal(name, &req).await?)
}

pub(crate) async fn tenants(ctx: &Ctx, cmd: TenantsCmd) -> Result<(), CliError> {
    let client = ctx.client()?;
    match cmd {
        TenantsCmd::List { json: as_json } => {
            let list = client.list_tenants().await?;
            if as_json {
                return json(&list);
            }
            let mut t = Table::new(["ID", "NAME"]);
            for tenant in &list {
                t.push([tenant.id.to_string(), tenant.name.clone()]);
            }
            out(&t.render())
        }
        TenantsCmd::Create {
            name,
            json: as_json,
        } => {
            let tenant = client.create_tenant(&name).await?;
            if as_json {
                return json(&tenant);
            }
            out(&format!(
                "created tenant {} (id {})",
                tenant.name, tenant.id
            ))
        }
    }
}

fn principals_table(list: &[PrincipalView]) -> String {
    let mut t = Table::new(["NAME", "TENANT", "ROLE", "DISABLED"]);
    for p in list {
        t.push([
            p.name.clone(),
            p.tenant.clone(),
            p.role.as_str().to_owned(),
            yes_no(p.disabled).to_owned(),
        ]);
    }
    t.render()
}

fn principal_details(p: &PrincipalView) -> String {
    key_values(&[
        ("name", Some(p.name.clone())),
        ("tenant", Some(p.tenant.clone())),
        ("role", Some(p.role.as_str().to_owned())),
        ("disabled", Some(yes_no(p.disabled).to_owned())),
    ])
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
