//! Bulk-terminate modes and the dry-run `confirm` token that pins the previewed set.

use crate::domain::SessionId;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// How a bulk terminate treats failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum BulkMode {
    /// Every id is tried; one result per id.
    #[default]
    BestEffort,
    /// vSphere semantics: sequential, each its own transaction, stop at the first failure;
    /// earlier ones stay terminated, later ones are `not_attempted`.
    StopOnError,
    /// Validate all, then end all in one transaction, or none.
    AllOrNothing,
}

/// A confirm token that was not issued for this request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the confirm token does not match this request")]
pub struct ConfirmMismatch;

/// The key that MACs confirm tokens; sessiond keeps one per store so any replica accepts it.
#[derive(Clone)]
pub struct ConfirmKey([u8; 32]);

impl ConfirmKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        ConfirmKey(bytes)
    }
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut b = [0u8; 32];
        getrandom::getrandom(&mut b)?;
        Ok(ConfirmKey(b))
    }

    fn mac(&self, canonical_request: &str, max_id: &str) -> [u8; 32] {
        // `new_from_slice` only fails for key lengths HMAC cannot take; 32 bytes always works.
        let mut m = match <Hmac<Sha256>>::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => return [0u8; 32],
        };
        m.update(canonical_request.as_bytes());
        m.update(b"\n");
        m.update(max_id.as_bytes());
        m.finalize().into_bytes().into()
    }

    /// `confirm` = `<max id or "-">.<mac>` over the canonical request and that id.
    pub fn issue(&self, canonical_request: &str, max_id: Option<&SessionId>) -> String {
        let id = max_id.map_or("-", |i| i.as_str());
        format!(
            "{id}.{}",
            URL_SAFE_NO_PAD.encode(self.mac(canonical_request, id))
        )
    }

    /// Checks a confirm token against the request being made now; returns the pinned max id
    /// (`Ok(None)` when the preview matched nothing).
    pub fn check(
        &self,
        canonical_request: &str,
        confirm: &str,
    ) -> Result<Option<SessionId>, ConfirmMismatch> {
        let (id, mac) = confirm.split_once('.').ok_or(ConfirmMismatch)?;
        let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| ConfirmMismatch)?;
        let want = self.mac(canonical_request, id);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(&mac[..], &want[..])) {
            return Err(ConfirmMismatch);
        }
        if id == "-" {
            Ok(None)
        } else {
            SessionId::parse(id).map(Some).ok_or(ConfirmMismatch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirm_binds_request_and_max_id() {
        let k = ConfirmKey::new([7; 32]);
        let id = SessionId::from_ulid(ulid::Ulid::from_parts(9, 9));
        let c = k.issue("filter:a", Some(&id));
        assert_eq!(k.check("filter:a", &c), Ok(Some(id.clone())));
        assert!(k.check("filter:b", &c).is_err());
        let other = ConfirmKey::new([8; 32]);
        assert!(other.check("filter:a", &c).is_err());
        let empty = k.issue("filter:a", None);
        assert_eq!(k.check("filter:a", &empty), Ok(None));
        assert!(k.check("filter:a", "garbage").is_err());
    }
}
