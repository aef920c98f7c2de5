//! `GET /api/v1/events`: the session event stream as server-sent events, resumable with
//! `Last-Event-ID`, filtered by type, service and tenant as the caller may see them.

use super::error::{ApiError, ApiResult};
use super::Authed;
use crate::extract::query_params;
use crate::AppState;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::stream::Stream;
use sessiond_core::events::{EventFilter, EventId, EventType, StoredEvent};
use sessiond_core::registry::EventsRequest;
#[allow(unused_imports)]
use sessiond_core::wire::ErrorBody;
use sessiond_core::{CoreError, Registry};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Events read from the store per page.
const PAGE: usize = 500;
/// A comment line this often keeps proxies from closing an idle stream.
const HEARTBEAT: Duration = Duration::from_secs(15);
/// How often a stream re-checks that its caller may still read (a terminated login session
/// or a disabled principal stops its streams within this).
const RECHECK: Duration = Duration::from_secs(2);

const PARAMS: [&str; 4] = ["types", "service", "tenant", "last_event_id"];

/// The request's parameters: what to receive, and where to resume (the `Last-Event-ID`
/// header, or `last_event_id` for clients that cannot set headers).
fn params(raw: Option<&str>, headers: &HeaderMap) -> ApiResult<(EventsRequest, Option<EventId>)> {
    let mut q = query_params(raw, &PARAMS)?;
    let mut req = EventsRequest::default();
    if let Some(v) = q.remove("types") {
        req.types = EventType::parse_list(&v).map_err(|m| CoreError::invalid("types", m))?;
    }
    req.service = q.remove("service").filter(|v| !v.is_empty());
    req.tenant = q.remove("tenant").filter(|v| !v.is_empty());
    let mut resume = q
        .remove("last_event_id")
        .map(|v| event_id(&v))
        .transpose()?;
    if let Some(h) = headers.get("last-event-id") {
        let v = h
            .to_str()
            .map_err(|_| CoreError::BadRequest("Last-Event-ID: not text".into()))?;
        resume = Some(event_id(v)?);
    }
    Ok((req, resume))
}

fn event_id(v: &str) -> ApiResult<EventId> {
    v.trim()
        .parse()
        .map_err(|_| CoreError::BadRequest(format!("event id {v:?}: expected a number")).into())
}

#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    params(
        ("types" = Option<String>, Query, description = "comma-separated event types (default all): session.created, session.closed, session.terminated, session.expired, principal.disabled"),
        ("service" = Option<String>, Query, description = "only sessions of this service"),
        ("tenant" = Option<String>, Query, description = "a tenant's name, or * (the default tenant's admin); default the caller's own"),
        ("last_event_id" = Option<String>, Query, description = "resume after this event id (or the Last-Event-ID header)"),
    ),
    responses(
        (status = 200, description = "text/event-stream: `id` is the event id, `event` its type, `data` the event JSON; a comment every 15 s", body = sessiond_core::events::Event),
        (status = 400, description = "malformed input", body = ErrorBody),
        (status = 401, description = "unauthenticated", body = ErrorBody),
        (status = 403, description = "missing privilege", body = ErrorBody),
        (status = 404, description = "unknown tenant", body = ErrorBody),
        (status = 422, description = "invalid values", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn stream(
    State(st): State<AppState>,
    Authed(caller): Authed,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let token = crate::bearer::token(&headers)
        .ok_or(ApiError::Core(CoreError::Unauthenticated))?
        .to_string();
    follow(&st, caller, token, raw.as_deref(), &headers).await
}

/// The event stream of an authenticated caller; `token` is what authenticated it (a bearer
/// token, or the console's cookie), kept to re-check that the caller may still read.
pub(crate) async fn follow(
    st: &AppState,
    caller: sessiond_core::Caller,
    token: String,
    raw: Option<&str>,
    headers: &HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let (req, resume) = params(raw, headers)?;
    let filter = st.registry.event_filter(&caller, &req).await?;
    // Without a cursor a subscriber starts at the present.
    let cursor = match resume {
        Some(c) => c,
        None => st.registry.last_event_id().await?,
    };
    let follow = Follow {
        registry: st.registry.clone(),
        token,
        req,
        filter,
        cursor,
        signal: st.registry.event_signal(),
        draining: st.draining.clone(),
        pending: VecDeque::new(),
        checked: tokio::time::Instant::now(),
        announced: false,
    };
    metrics::gauge!("sessiond_event_streams").increment(1.0);
    let stream = futures_util::stream::unfold(follow, |mut f| async move {
        let next = f.next().await;
        next.map(|e| (Ok(e), f))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat")))
}

/// One subscriber's position in the event sequence.
struct Follow {
    registry: Arc<Registry>,
    /// The caller's bearer token, kept to re-check it (never logged).
    token: String,
    req: EventsRequest,
    filter: EventFilter,
    cursor: EventId,
    signal: watch::Receiver<EventId>,
    draining: watch::Receiver<bool>,
    pending: VecDeque<StoredEvent>,
    checked: tokio::time::Instant,
    /// Whether the starting position was sent (an `id:` line without data, which sets the
    /// client's last event id: a reconnect before the first event resumes there).
    announced: bool,
}

impl Drop for Follow {
    fn drop(&mut self) {
        metrics::gauge!("sessiond_event_streams").decrement(1.0);
    }
}

impl Follow {
    /// The next event to send, or `None` to end the stream (the server drains, the caller
    /// may no longer read, or the store failed: the client resumes with `Last-Event-ID`).
    async fn next(&mut self) -> Option<SseEvent> {
        if !self.announced {
            self.announced = true;
            return Some(SseEvent::default().id(self.cursor.to_string()));
        }
        loop {
            if *self.draining.borrow() {
                return None;
            }
            if self.checked.elapsed() >= RECHECK && !self.recheck().await {
                return None;
            }
            if let Some(e) = self.pending.pop_front() {
                return Some(
                    SseEvent::default()
                        .id(e.id.to_string())
                        .event(e.event.kind.as_str())
                        .data(e.to_json()),
                );
            }
            // Marked seen before reading, so a signal during the read is not lost.
            self.signal.borrow_and_update();
            match self
                .registry
                .events_page(&self.filter, self.cursor, PAGE)
                .await
            {
                Ok((events, next)) => {
                    let read_any = next != self.cursor;
                    self.cursor = next;
                    self.pending.extend(events);
                    if read_any {
                        continue;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "event stream: reading events failed");
                    return None;
                }
            }
            tokio::select! {
                changed = self.signal.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                }
                _ = self.draining.changed() => {}
                _ = tokio::time::sleep(RECHECK) => {}
            }
        }
    }

    /// Whether the caller may still read: its token still authenticates and its filter
    /// still holds (role or tenant may have changed).
    async fn recheck(&mut self) -> bool {
        self.checked = tokio::time::Instant::now();
        let Ok(caller) = self.registry.authenticate(&self.token).await else {
            return false;
        };
        match self.registry.event_filter(&caller, &self.req).await {
            Ok(f) => {
                self.filter = f;
                true
            }
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_checked() {
        let h = HeaderMap::new();
        let (req, resume) = params(
            Some("types=session.terminated,session.expired&tenant=*"),
            &h,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            req.types,
            vec![EventType::SessionTerminated, EventType::SessionExpired]
        );
        assert_eq!(req.tenant.as_deref(), Some("*"));
        assert_eq!(resume, None);
        assert!(params(Some("types=session.opened"), &h).is_err());
        assert!(params(Some("limit=5"), &h).is_err());
        assert!(params(Some("service=a&service=b"), &h).is_err());
        assert!(params(Some("last_event_id=x"), &h).is_err());
        let mut h = HeaderMap::new();
        h.insert("last-event-id", axum::http::HeaderValue::from_static("42"));
        let (_, resume) = params(Some("last_event_id=7"), &h).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            resume,
            Some(42),
            "the header wins: it is what a reconnecting client sends"
        );
    }
}
