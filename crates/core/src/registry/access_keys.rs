//! Access keys (AK/SK) of principals: issued by an admin, the secret shown once and kept
//! sealed; a signed request resolves its key to a caller and the secret to verify with.

use super::{Caller, Registry};
use crate::domain::{AccessKey, Privilege};
use crate::error::{CoreError, CoreResult};
use crate::secretbox::SealKey;
use crate::store::StoreError;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// How many keys one principal may hold (rotation needs two; more is a leak waiting).
pub const MAX_KEYS_PER_PRINCIPAL: usize = 2;

/// An access key as listed: never the secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessKeyView {
    pub access_key: String,
    pub principal: String,
    pub created_at: Timestamp,
}

/// A newly created key with its secret (returned exactly once).
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewAccessKey {
    pub access_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for NewAccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccessKey")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

/// `len` random characters of `[A-Z0-9]` (upper case, as cloud access keys look), drawn
/// without modulo bias.
fn random_code(len: usize, alphabet: &[u8]) -> CoreResult<String> {
    let mut out = String::with_capacity(len);
    let limit = 256 - (256 % alphabet.len());
    while out.len() < len {
        let mut buf = [0u8; 64];
        getrandom::getrandom(&mut buf).map_err(|e| CoreError::Internal(e.to_string()))?;
        for b in buf {
            if (b as usize) < limit && out.len() < len {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    Ok(out)
}

const AK_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const SK_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

impl Registry {
    pub(super) fn seal_key(&self) -> CoreResult<&SealKey> {
        self.seal_key
            .as_ref()
            .ok_or_else(|| CoreError::Internal("no access-key seal key configured".into()))
    }

    /// Issues a new key for `principal`: 20-character id, 40-character secret (≥ 238 bits).
    pub async fn create_access_key(
        &self,
        caller: &Caller,
        principal: &str,
    ) -> CoreResult<NewAccessKey> {
        caller.require(Privilege::SystemAdmin)?;
        let p = self.visible_principal(caller, principal).await?;
        if self.store.list_access_keys(&p.name).await?.len() >= MAX_KEYS_PER_PRINCIPAL {
            return Err(CoreError::Conflict(format!(
                "principal {} already has {MAX_KEYS_PER_PRINCIPAL} access keys; delete one first",
                p.name
            )));
        }
        let access_key = random_code(20, AK_ALPHABET)?;
        let secret_key = random_code(40, SK_ALPHABET)?;
        let sealed = self
            .seal_key()?
            .seal(secret_key.as_bytes(), &access_key)
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        let k = AccessKey {
            access_key: access_key.clone(),
            principal: p.name.clone(),
            tenant_id: p.tenant_id,
            created_at: self.clock.now(),
            sealed_secret: sealed,
        };
        match self.store.create_access_key(&k).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(CoreError::Internal("access key id collision; retry".into()))
            }
            Err(e) => return Err(e.into()),
        }
        self.audit(
            caller,
            "access_key.create",
            &format!("{}:{access_key}", p.name),
            None,
        )
        .await;
        Ok(NewAccessKey {
            access_key,
            secret_key,
        })
    }

    pub async fn list_access_keys(
        &self,
        caller: &Caller,
        principal: &str,
    ) -> CoreResult<Vec<AccessKeyView>> {
        caller.require(Privilege::SystemAdmin)?;
        let p = self.visible_principal(caller, principal).await?;
        Ok(self
            .store
            .list_access_keys(&p.name)
            .await?
            .into_iter()
            .map(|k| AccessKeyView {
                access_key: k.access_key,
                principal: k.principal,
                created_at: k.created_at,
            })
            .collect())
    }

    pub async fn delete_access_key(
        &self,
        caller: &Caller,
        principal: &str,
        access_key: &str,
    ) -> CoreResult<()> {
        caller.require(Privilege::SystemAdmin)?;
        let p = self.visible_principal(caller, principal).await?;
        match self.store.get_access_key(access_key).await? {
            Some(k) if k.principal == p.name => {}
            _ => return Err(CoreError::NotFound("access key")),
        }
        self.store.delete_access_key(access_key).await?;
        self.audit(
            caller,
            "access_key.delete",
            &format!("{}:{access_key}", p.name),
            None,
        )
        .await;
        Ok(())
    }

    /// Resolves a signed request's access key: the caller it acts as and the secret to
    /// verify the signature with. Unknown keys, keys of disabled principals and secrets that
    /// do not open are all `Unauthenticated`.
    pub async fn access_key_caller(&self, access_key: &str) -> CoreResult<(Caller, Vec<u8>)> {
        if access_key.is_empty() || access_key.len() > 128 {
            return Err(CoreError::Unauthenticated);
        }
        let k = self
            .store
            .get_access_key(access_key)
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        let p = self
            .store
            .get_principal(&k.principal)
            .await?
            .filter(|p| !p.disabled && p.tenant_id == k.tenant_id)
            .ok_or(CoreError::Unauthenticated)?;
        let secret = self
            .seal_key()?
            .open(&k.sealed_secret, &k.access_key)
            .map_err(|_| CoreError::Unauthenticated)?;
        let caller = Caller {
            principal: p.name,
            tenant_id: p.tenant_id,
            role: p.role,
            session_id: None,
        };
        Ok((caller, secret))
    }
}
