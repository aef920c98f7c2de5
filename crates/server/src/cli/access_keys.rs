//! `sessiond access-keys`: issue, list and delete a principal's AK/SK pairs (for signed
//! requests such as the DDS dialect's). The secret is printed once, at creation.

use super::output::{json, out};
use super::table::Table;
use super::{CliError, Ctx};

#[derive(clap::Subcommand, Debug)]
pub enum AccessKeysCmd {
    /// Create a key for a principal; prints the secret once
    Create {
        principal: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// List a principal's keys (never the secrets)
    List {
        principal: String,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Delete a key
    Delete {
        principal: String,
        access_key: String,
    },
}

pub(crate) async fn access_keys(ctx: &Ctx, cmd: AccessKeysCmd) -> Result<(), CliError> {
    let client = ctx.client()?;
    match cmd {
        AccessKeysCmd::Create {
            principal,
            json: as_json,
        } => {
            let k = client.create_access_key(&principal).await?;
            if as_json {
                return json(&k);
            }
            out(&format!(
                "access_key: {}\nsecret_key: {}\n(the secret is shown only now; store it safely)",
                k.access_key, k.secret_key
            ))
        }
        AccessKeysCmd::List {
            principal,
            json: as_json,
        } => {
            let keys = client.list_access_keys(&principal).await?;
            if as_json {
                return json(&keys);
            }
            let mut t = Table::new(["ACCESS KEY", "PRINCIPAL", "CREATED"]);
            for k in &keys {
                t.push([
                    k.access_key.clone(),
                    k.principal.clone(),
                    k.created_at.to_rfc3339(),
                ]);
            }
            out(&t.render())
        }
        AccessKeysCmd::Delete {
            principal,
            access_key,
        } => {
            client.delete_access_key(&principal, &access_key).await?;
            out(&format!("deleted access key {access_key} of {principal}"))
        }
    }
}
