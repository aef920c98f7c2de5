//! SSF streams through the registry: receivers manage their streams with a sessiond
//! principal's bearer token — `ssf.manage` is Sessions.TerminateSession (operators and
//! admins: create, update, delete, status changes, verification), `ssf.read` is
//! Sessions.Read (read a stream and its status, poll it) — in their own tenant, whose
//! events alone the stream carries.

use super::{Caller, Registry};
use crate::domain::Privilege;
use crate::error::{CoreError, CoreResult};
use crate::events::EventId;
use crate::sinks::{DeliveryState, Sink, SinkKind, SinkStatus};
use crate::ssf::{
    event_of_jti, set_claims, stream_config, verification_claims, Delivery, PendingVerification,
    StreamConfig, EVENTS_SUPPORTED, POLL, PUSH,
};
use crate::store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A stream as a receiver writes it (create, update, replace). Fields a receiver may not
/// set (`stream_id`, `iss`, `aud`, `events_supported`, `events_delivered`) are ignored, as
/// SSF 1.0 allows.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct StreamRequest {
    #[serde(default)]
    pub delivery: Option<DeliveryRequest>,
    #[serde(default)]
    pub events_requested: Option<Vec<String>>,
    #[serde(default)]
    pub description: Option<String>,
}

/// The delivery a receiver asks for.
#[derive(Clone, Deserialize)]
pub struct DeliveryRequest {
    pub method: String,
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Sent as `Authorization` with every push (kept sealed, never shown again).
    #[serde(default)]
    pub authorization_header: Option<String>,
}

impl std::fmt::Debug for DeliveryRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryRequest")
            .field("method", &self.method)
            .field("endpoint_url", &self.endpoint_url)
            .finish_non_exhaustive()
    }
}

/// A stream as the transmitter shows it (SSF 1.0 §8.1.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamView {
    pub stream_id: String,
    pub iss: String,
    pub aud: String,
    pub delivery: Delivery,
    pub events_supported: Vec<String>,
    pub events_requested: Vec<String>,
    pub events_delivered: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A stream's status (SSF 1.0 §8.1.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamStatus {
    pub stream_id: String,
    pub status: SinkStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What one RFC 8936 poll asks.
#[derive(Clone, Debug, Default)]
pub struct Poll {
    pub acks: Vec<String>,
    pub errs: Vec<String>,
    pub max: usize,
    pub wait: std::time::Duration,
}

/// One poll's answer before signing: (jti, claims) of each SET, and whether more wait.
pub type PollBatch = (Vec<(String, Value)>, bool);

fn invalid(m: impl Into<String>) -> CoreError {
    CoreError::invalid("stream", m)
}

fn view(s: &Sink, c: &StreamConfig) -> StreamView {
    StreamView {
        stream_id: s.id.clone(),
        iss: c.iss.clone(),
        aud: c.aud.clone(),
        delivery: c.delivery.clone(),
        events_supported: EVENTS_SUPPORTED.iter().map(|s| s.to_string()).collect(),
        events_requested: c.events_requested.clone(),
        events_delivered: c.events_delivered(),
        description: c.description.clone(),
    }
}

fn config_text(c: &StreamConfig) -> CoreResult<String> {
    serde_json::to_string(c).map_err(|e| CoreError::Internal(e.to_string()))
}

impl Registry {
    /// `ssf.manage`.
    fn ssf_manage(caller: &Caller) -> CoreResult<()> {
        caller.require(Privilege::SessionsTerminate)
    }

    /// A stream the caller's tenant owns; anything else is not found.
    async fn visible_stream(&self, caller: &Caller, id: &str) -> CoreResult<(Sink, StreamConfig)> {
        caller.require(Privilege::SessionsRead)?;
        match self.store.get_sink(id).await? {
            Some(s) if s.kind == SinkKind::Ssf && caller.tenant_id == s.tenant_id => {
                let c = stream_config(&s)?;
                Ok((s, c))
            }
            _ => Err(CoreError::NotFound("stream")),
        }
    }

    /// Applies a receiver's delivery request to `c` (and the sealed authorization header).
    fn apply_delivery(
        &self,
        id: &str,
        iss: &str,
        d: DeliveryRequest,
        c: &mut StreamConfig,
    ) -> CoreResult<Option<Vec<u8>>> {
        let mut sealed = None;
        match d.method.as_str() {
            PUSH => {
                let url = d
                    .endpoint_url
                    .ok_or_else(|| invalid("push delivery needs an endpoint_url"))?;
                let url = crate::webhook::check_url(&url, self.cfg.webhooks_allow_private)
                    .map_err(invalid)?;
                c.delivery = Delivery {
                    method: PUSH.into(),
                    endpoint_url: Some(url.to_string()),
                };
                if let Some(h) = d.authorization_header.filter(|h| !h.is_empty()) {
                    sealed = Some(
                        self.seal_key()?
                            .seal(h.as_bytes(), id)
                            .map_err(|e| CoreError::Internal(e.to_string()))?,
                    );
                }
            }
            POLL => {
                // The transmitter supplies the poll URL.
                c.delivery = Delivery {
                    method: POLL.into(),
                    endpoint_url: Some(format!("{}/ssf/poll/{id}", iss.trim_end_matches('/'))),
                };
            }
            other => {
                return Err(invalid(format!(
                    "delivery method {other:?} is not supported; use {PUSH} or {POLL}"
                )))
            }
        }
        Ok(sealed)
    }

    /// Creates a stream in the caller's tenant, issued as `iss`, with the caller's name as
    /// its audience. It carries events from now on.
    pub async fn create_stream(
        &self,
        caller: &Caller,
        iss: &str,
        req: StreamRequest,
    ) -> CoreResult<StreamView> {
        Self::ssf_manage(caller)?;
        let id = format!("ssf_{}", self.new_id()?);
        let mut c = StreamConfig {
            iss: iss.to_string(),
            aud: caller.principal.clone(),
            delivery: Delivery {
                method: POLL.into(),
                endpoint_url: None,
            },
            events_requested: req.events_requested.unwrap_or_default(),
            description: req.description,
            verification: None,
        };
        let d = req
            .delivery
            .ok_or_else(|| invalid("a stream needs a delivery method"))?;
        let sealed = self.apply_delivery(&id, iss, d, &mut c)?;
        let sink = Sink {
            id: id.clone(),
            kind: SinkKind::Ssf,
            tenant_id: caller.tenant_id,
            created_by: caller.principal.clone(),
            created_at: self.clock.now(),
            config: config_text(&c)?,
            sealed_secret: sealed,
            status: SinkStatus::Enabled,
            status_reason: None,
            delivery: DeliveryState {
                cursor: self.store.last_event_id().await?,
                ..DeliveryState::default()
            },
        };
        self.store.create_sink(&sink).await?;
        self.audit(
            caller,
            "ssf.stream.create",
            &id,
            Some(c.delivery.method.clone()),
        )
        .await;
        Ok(view(&sink, &c))
    }

    pub async fn get_stream(&self, caller: &Caller, id: &str) -> CoreResult<StreamView> {
        let (s, c) = self.visible_stream(caller, id).await?;
        Ok(view(&s, &c))
    }

    /// The streams of the caller's tenant.
    pub async fn list_streams(&self, caller: &Caller) -> CoreResult<Vec<StreamView>> {
        caller.require(Privilege::SessionsRead)?;
        let scope = crate::filter::TenantScope::One(caller.tenant_id);
        let mut out = Vec::new();
        for s in self.store.list_sinks(Some(SinkKind::Ssf), &scope).await? {
            out.push(view(&s, &stream_config(&s)?));
        }
        Ok(out)
    }

    /// PATCH (only the fields given) or PUT (`replace`: every writable field).
    pub async fn update_stream(
        &self,
        caller: &Caller,
        id: &str,
        req: StreamRequest,
        replace: bool,
    ) -> CoreResult<StreamView> {
        Self::ssf_manage(caller)?;
        let (mut s, mut c) = self.visible_stream(caller, id).await?;
        if replace && req.delivery.is_none() {
            return Err(invalid("a replacement needs the delivery"));
        }
        if let Some(d) = req.delivery {
            let iss = c.iss.clone();
            s.sealed_secret = self.apply_delivery(&s.id, &iss, d, &mut c)?;
        }
        match req.events_requested {
            Some(e) => c.events_requested = e,
            None if replace => c.events_requested = Vec::new(),
            None => {}
        }
        match req.description {
            Some(d) => c.description = Some(d),
            None if replace => c.description = None,
            None => {}
        }
        s.config = config_text(&c)?;
        self.save_stream(&s).await?;
        self.audit(caller, "ssf.stream.update", &s.id, None).await;
        Ok(view(&s, &c))
    }

    async fn save_stream(&self, s: &Sink) -> CoreResult<()> {
        match self.store.update_sink(s).await {
            Err(StoreError::NotFound) => Err(CoreError::NotFound("stream")),
            other => Ok(other?),
        }
    }

    pub async fn delete_stream(&self, caller: &Caller, id: &str) -> CoreResult<()> {
        Self::ssf_manage(caller)?;
        let (s, _) = self.visible_stream(caller, id).await?;
        if !self.store.delete_sink(&s.id).await? {
            return Err(CoreError::NotFound("stream"));
        }
        self.audit(caller, "ssf.stream.delete", &s.id, None).await;
        Ok(())
    }

    pub async fn stream_status(&self, caller: &Caller, id: &str) -> CoreResult<StreamStatus> {
        let (s, _) = self.visible_stream(caller, id).await?;
        Ok(StreamStatus {
            stream_id: s.id,
            status: s.status,
            reason: s.status_reason,
        })
    }

    /// Enables, pauses or disables a stream. A paused stream keeps its events for later; a
    /// disabled one drops them (SSF 1.0 §8.1.2), so enabling it again starts at the present.
    pub async fn set_stream_status(
        &self,
        caller: &Caller,
        id: &str,
        status: SinkStatus,
        reason: Option<String>,
    ) -> CoreResult<StreamStatus> {
        Self::ssf_manage(caller)?;
        let (mut s, _) = self.visible_stream(caller, id).await?;
        if status == SinkStatus::Enabled && s.status == SinkStatus::Disabled {
            let fresh = DeliveryState {
                cursor: self.store.last_event_id().await?,
                ..DeliveryState::default()
            };
            self.store
                .advance_sink(&s.id, &s.delivery, &fresh, None, &[])
                .await?;
        }
        s.status = status;
        s.status_reason = reason;
        self.save_stream(&s).await?;
        self.audit(
            caller,
            "ssf.stream.status",
            &s.id,
            Some(status.as_str().into()),
        )
        .await;
        Ok(StreamStatus {
            stream_id: s.id,
            status: s.status,
            reason: s.status_reason,
        })
    }

    /// Asks for a verification SET (sent by push, or returned by the next poll).
    pub async fn request_verification(
        &self,
        caller: &Caller,
        id: &str,
        state: Option<String>,
    ) -> CoreResult<()> {
        Self::ssf_manage(caller)?;
        let (mut s, mut c) = self.visible_stream(caller, id).await?;
        let tag = crate::ids::random_hex(8).map_err(|e| CoreError::Internal(e.to_string()))?;
        c.verification = Some(PendingVerification {
            jti: format!("{}-verify-{tag}", s.id),
            state,
        });
        s.config = config_text(&c)?;
        self.save_stream(&s).await
    }

    /// Forgets a verification once it was delivered (push) or acknowledged (poll).
    pub async fn verification_done(&self, id: &str, jti: &str) -> CoreResult<()> {
        let Some(mut s) = self.store.get_sink(id).await? else {
            return Ok(());
        };
        let mut c = stream_config(&s)?;
        if c.verification.as_ref().is_some_and(|v| v.jti == jti) {
            c.verification = None;
            s.config = config_text(&c)?;
            self.save_stream(&s).await?;
        }
        Ok(())
    }

    /// The claims of the SETs a stream has waiting after its cursor (a pending verification
    /// first), at most `max`; and the id scanned through.
    pub async fn stream_sets(
        &self,
        s: &Sink,
        max: usize,
        iat: i64,
    ) -> CoreResult<(Vec<(String, Value, Option<EventId>)>, EventId, bool)> {
        let c = stream_config(s)?;
        let mut out = Vec::new();
        if let Some(v) = &c.verification {
            out.push((v.jti.clone(), verification_claims(&c, &s.id, v, iat), None));
        }
        let cursor = s.delivery.cursor;
        let want = max.saturating_sub(out.len());
        let Some(filter) = c.filter(s.tenant_id) else {
            // Nothing requested that sessiond sends: skip whatever was written meanwhile.
            let last = self.store.last_event_id().await?;
            return Ok((out, last.max(cursor), false));
        };
        if want == 0 {
            return Ok((out, cursor, true));
        }
        let (events, scanned) = self.events_page(&filter, cursor, want.max(100)).await?;
        let more = events.len() > want;
        let mut through = scanned;
        for e in events.into_iter() {
            if out.len() >= max {
                through = e.id - 1;
                break;
            }
            if let Some(claims) = set_claims(&c, &s.id, &e, iat) {
                out.push((crate::ssf::jti(&s.id, e.id), claims, Some(e.id)));
            }
        }
        Ok((out, through, more))
    }

    /// An RFC 8936 poll: acknowledges `p.acks` (and `p.errs`, SETs the receiver refused,
    /// which are not sent again), then answers up to `p.max` SETs waiting (claims; the
    /// caller signs them), waiting up to `p.wait` for one when none is.
    pub async fn poll_stream(
        &self,
        caller: &Caller,
        id: &str,
        p: &Poll,
        iat: impl Fn() -> i64,
    ) -> CoreResult<PollBatch> {
        let (acks, errs, max, wait) = (&p.acks, &p.errs, p.max, p.wait);
        let (s, c) = self.visible_stream(caller, id).await?;
        if c.delivery.method != POLL {
            return Err(invalid("this stream is delivered by push, not poll"));
        }
        if s.status != SinkStatus::Enabled {
            return Ok((Vec::new(), false));
        }
        let done: std::collections::HashSet<&str> =
            acks.iter().chain(errs.iter()).map(String::as_str).collect();
        if let Some(v) = &c.verification {
            if done.contains(v.jti.as_str()) {
                self.verification_done(&s.id, &v.jti).await?;
            }
        }
        // Acknowledgements move the cursor over the longest run of answered SETs from it.
        let mut s = self
            .store
            .get_sink(&s.id)
            .await?
            .ok_or(CoreError::NotFound("stream"))?;
        let acked: std::collections::HashSet<u64> =
            done.iter().filter_map(|j| event_of_jti(&s.id, j)).collect();
        if !acked.is_empty() {
            let (sets, through, _) = self.stream_sets(&s, acked.len() + 1, iat()).await?;
            let mut cursor = s.delivery.cursor;
            let mut all = true;
            for (_, _, event) in &sets {
                match event {
                    Some(e) if acked.contains(e) => cursor = *e,
                    Some(_) => {
                        all = false;
                        break;
                    }
                    None => {}
                }
            }
            if all {
                // Every SET up to `through` was answered; the events between were not for
                // this stream.
                cursor = cursor.max(through);
            }
            if cursor > s.delivery.cursor {
                let next = DeliveryState {
                    cursor,
                    ..DeliveryState::default()
                };
                if self
                    .store
                    .advance_sink(&s.id, &s.delivery, &next, None, &[])
                    .await?
                {
                    s.delivery = next;
                }
            }
        }
        let deadline = tokio::time::Instant::now() + wait;
        let mut signal = self.event_signal();
        loop {
            signal.borrow_and_update();
            let (sets, _, more) = self.stream_sets(&s, max.max(1), iat()).await?;
            if !sets.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok((sets.into_iter().map(|(j, c, _)| (j, c)).collect(), more));
            }
            tokio::select! {
                _ = signal.changed() => {}
                _ = tokio::time::sleep_until(deadline) => {}
            }
            s = self
                .store
                .get_sink(&s.id)
                .await?
                .ok_or(CoreError::NotFound("stream"))?;
        }
    }
}
