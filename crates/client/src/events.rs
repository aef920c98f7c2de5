//! Reading `GET /api/v1/events`: a server-sent event stream, parsed into `Event`s, with the
//! last event id kept so that a caller can resume after a disconnect.

use crate::ClientError;
use sessiond_core::events::{Event, EventId, EventType};
use std::time::Duration;

/// No bytes for this long (the server sends a comment every 15 s) means a dead connection.
const STALL: Duration = Duration::from_secs(45);
/// Largest event line accepted (an event is one session's JSON).
const MAX_LINE: usize = 1 << 20;

/// What to subscribe to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventsParams {
    /// Empty: every type.
    pub types: Vec<EventType>,
    pub service: Option<String>,
    /// A tenant's name, or `*`.
    pub tenant: Option<String>,
}

impl EventsParams {
    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if !self.types.is_empty() {
            let names: Vec<&str> = self.types.iter().map(|t| t.as_str()).collect();
            q.push(("types", names.join(",")));
        }
        if let Some(s) = &self.service {
            q.push(("service", s.clone()));
        }
        if let Some(t) = &self.tenant {
            q.push(("tenant", t.clone()));
        }
        q
    }
}

/// An open event stream.
pub struct EventStream {
    resp: reqwest::Response,
    buf: Vec<u8>,
    data: String,
    id: Option<EventId>,
    last_id: Option<EventId>,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("last_id", &self.last_id)
            .finish_non_exhaustive()
    }
}

impl EventStream {
    pub(crate) fn new(resp: reqwest::Response, resume: Option<EventId>) -> Self {
        EventStream {
            resp,
            buf: Vec::new(),
            data: String::new(),
            id: None,
            last_id: resume,
        }
    }

    /// The id of the last event received (to resume from), or the one the stream resumed
    /// from.
    pub fn last_id(&self) -> Option<EventId> {
        self.last_id
    }

    /// The next event; `Ok(None)` when the server ended the stream.
    pub async fn next(&mut self) -> Result<Option<Event>, ClientError> {
        loop {
            while let Some(end) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=end).collect();
                if let Some(e) = self.line(&line)? {
                    return Ok(Some(e));
                }
            }
            if self.buf.len() > MAX_LINE {
                return Err(ClientError::Decode("an event line over 1 MiB".into()));
            }
            let chunk = tokio::time::timeout(STALL, self.resp.chunk())
                .await
                .map_err(|_| ClientError::Transport("the event stream stalled".into()))?
                .map_err(ClientError::transport)?;
            match chunk {
                Some(c) => self.buf.extend_from_slice(&c),
                None => return Ok(None),
            }
        }
    }

    /// One line of the stream (with its `\n`); an event when it is the blank line that ends
    /// one.
    fn line(&mut self, raw: &[u8]) -> Result<Option<Event>, ClientError> {
        let text = std::str::from_utf8(raw)
            .map_err(|_| ClientError::Decode("the event stream is not UTF-8".into()))?;
        let line = text.trim_end_matches('\n').trim_end_matches('\r');
        if line.is_empty() {
            if self.data.is_empty() {
                // An id without data: the server saying where the stream starts.
                if let Some(id) = self.id.take() {
                    self.last_id = Some(id);
                }
                return Ok(None);
            }
            let data = std::mem::take(&mut self.data);
            let e: Event = serde_json::from_str(&data)
                .map_err(|e| ClientError::Decode(format!("event: {e}")))?;
            self.last_id = self.id.take().or(Some(e.id));
            return Ok(Some(e));
        }
        if line.starts_with(':') {
            return Ok(None);
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => {
                if !self.data.is_empty() {
                    self.data.push('\n');
                }
                self.data.push_str(value);
            }
            "id" => self.id = value.parse().ok(),
            _ => {}
        }
        Ok(None)
    }
}
