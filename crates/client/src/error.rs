//! The client's one error type: what went wrong talking to a sessiond server.

use std::error::Error as _;

/// Everything a call of the native API can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a non-2xx status. `code` and `message` come from its
    /// `{"error":{"code","message"}}` body, or are synthesised when the body is not that shape
    /// (a proxy's HTML page, an empty 502…).
    #[error("{message} ({code})")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    /// The request never got an answer: connection refused, TLS failure, timeout…
    #[error("transport error: {0}")]
    Transport(String),
    /// The server answered 2xx with a body that is not the expected shape.
    #[error("cannot decode the server's answer: {0}")]
    Decode(String),
    /// The base URL (or a path parameter) cannot form a valid request URL.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
}

impl ClientError {
    /// The HTTP status of an API error; `None` for the other kinds.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The API error code (`session_not_found`, …) of an API error.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// True for a 401: no token, or a token whose login session has ended.
    pub fn is_unauthenticated(&self) -> bool {
        self.status() == Some(401)
    }

    pub(crate) fn transport(e: reqwest::Error) -> Self {
        // reqwest's own Display is only the outermost layer ("error sending request for url
        // …"); the useful part (connection refused, certificate unknown) is in the sources.
        let innermost = {
            let mut last: Option<&dyn std::error::Error> = None;
            let mut source = e.source();
            while let Some(s) = source {
                last = Some(s);
                source = s.source();
            }
            last.map(ToString::to_string)
        };
        let origin = e
            .url()
            .map(|u| {
                let host = u.host_str().unwrap_or("?");
                match u.port_or_known_default() {
                    Some(p) => format!("{}://{host}:{p}", u.scheme()),
                    None => format!("{}://{host}", u.scheme()),
                }
            })
            .unwrap_or_else(|| "the server".to_owned());
        if e.is_timeout() {
            return ClientError::Transport(format!("{origin} did not answer in time"));
        }
        if e.is_connect() {
            let why = innermost.unwrap_or_else(|| e.to_string());
            return ClientError::Transport(format!("cannot connect to {origin}: {why}"));
        }
        let mut msg = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            let part = s.to_string();
            if !msg.contains(&part) {
                msg.push_str(": ");
                msg.push_str(&part);
            }
            source = s.source();
        }
        ClientError::Transport(msg)
    }
}
