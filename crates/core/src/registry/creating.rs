//! The one path that creates a session — a service's registration or a principal's login —
//! so that ids, tokens, defaults and the store's uniqueness answer are decided once, and
//! its `session.created` event is written with it.

use super::Registry;
use crate::domain::{Session, SessionKind, SessionState, TenantId, User};
use crate::error::{CoreError, CoreResult};
use crate::store::StoreError;
use crate::time::HumanDuration;
use crate::token;
use std::collections::BTreeMap;
use std::time::Duration;

/// How many ids `insert_new` draws before giving up. A store that places sessions by
/// contents over S places accepts one id in S: 65,536 draws fail with probability about
/// e^(-65536/S) (e^-64 at Redis's 1,024 shards at most), and a draw costs well under a
/// microsecond (ids within one millisecond are increments, no random read).
const MAX_ID_DRAWS: u32 = 1 << 16;

/// What every new session needs; the caller fills the optional fields afterwards.
pub(crate) struct NewSession {
    pub kind: SessionKind,
    pub owner: String,
    pub tenant_id: TenantId,
    pub service: String,
    pub user: User,
    pub idle_timeout: Duration,
    pub absolute_timeout: Duration,
}

impl Registry {
    /// A live session record with a fresh time-ordered id, opened now.
    pub(crate) fn new_session(&self, n: NewSession) -> CoreResult<Session> {
        let now = self.clock.now();
        let mut user = n.user;
        crate::identity::normalize_user(&mut user)
            .map_err(|e| CoreError::invalid("user", e.to_string()))?;
        Ok(Session {
            id: self.new_id()?,
            kind: n.kind,
            owner: n.owner,
            external_id: None,
            tenant_id: n.tenant_id,
            service: n.service,
            node_id: None,
            server_address: None,
            originator: None,
            user,
            user_agent: None,
            locale: None,
            is_guest: false,
            is_encrypted: false,
            share_names: vec![],
            num_opens: 0,
            call_count: 0,
            activity: None,
            opened_at: now,
            last_active_at: now,
            idle_timeout: HumanDuration(n.idle_timeout),
            absolute_timeout: HumanDuration(n.absolute_timeout),
            state: SessionState::Active,
            ended_at: None,
            ended_by: None,
            end_reason: None,
            attributes: BTreeMap::new(),
        })
    }

    /// Stores a new session with a fresh token, returned once. The id is redrawn until the
    /// store accepts it for this session ([`crate::store::SessionStore::accepts_id`]).
    pub(crate) async fn insert_new(
        &self,
        mut session: Session,
    ) -> CoreResult<(Session, token::Token)> {
        let mut draws = 1;
        while !self.store.accepts_id(&session.id, &session) {
            if draws >= MAX_ID_DRAWS {
                return Err(CoreError::Internal(format!(
                    "the store accepted none of {MAX_ID_DRAWS} session ids"
                )));
            }
            session.id = self.new_id()?;
            draws += 1;
        }
        let (tok, hash) =
            token::issue(&session.id).map_err(|e| CoreError::Internal(e.to_string()))?;
        let event = self.created_event(&session).await?;
        match self
            .store
            .insert_session(&session, &hash, session.expires_at(), Some(&event))
            .await
        {
            Ok(()) => {
                metrics::counter!("sessiond_sessions_created_total", "kind" => session.kind.as_str())
                    .increment(1);
                Ok((session, tok))
            }
            Err(StoreError::Conflict(_)) => Err(CoreError::Conflict(
                "a live session with this external_id already exists on this service and node"
                    .into(),
            )),
            Err(e) => Err(e.into()),
        }
    }
}
