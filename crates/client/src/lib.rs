//! Typed async client of the sessiond native API (`/api/v1`), used by the CLI and by tests.
//!
//! The request and response shapes are `sessiond_core::wire`'s, the same definitions the
//! server uses, so the two sides cannot drift apart.

mod error;
mod events;

pub use error::ClientError;
pub use events::{EventStream, EventsParams};

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sessiond_core::registry::{AccessKeyView, NewAccessKey};
use sessiond_core::wire::{
    CreatePrincipal, CreateTenant, EndRequest, ErrorBody, ListParams, LoginRequest, LoginResponse,
    PrincipalView, RegisterRequest, RegisterResponse, SessionPage, SessionPatch, TerminateRequest,
    TerminateResponse, UpdatePrincipal, ValidateRequest, WhoAmI,
};
use sessiond_core::{Session, Tenant};
use std::fmt;
use std::time::Duration;
use url::Url;

/// Re-exported so that users of the client need not depend on core for the shapes.
pub use sessiond_core::wire;

/// Connecting must not hang a CLI for minutes on a black-holed address.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Generous, because one chunk of a bulk terminate may take a while, yet bounded so that a
/// stuck server cannot hang a script forever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
/// How much of a non-JSON error body is kept as the message.
const MAX_RAW_ERROR_CHARS: usize = 200;

/// A bearer token. Its own type so that no `Debug` of the client can print it.
#[derive(Clone)]
struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// The `{"items":[…]}` envelope of the admin list endpoints.
#[derive(Deserialize)]
struct Items<T> {
    items: Vec<T>,
}

/// A client of one sessiond server. Cloning is cheap (the connection pool is shared).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// `{base}/api/v1`, without a trailing slash.
    api: Url,
    token: Option<Token>,
}

impl fmt::Debug for Client {
    // Hand-written: the token must never show up in a log line or a panic message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("api", &self.api.as_str())
            .field("has_token", &self.token.is_some())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client of the server at `base_url` (`https://host:8000`, optionally with a path
    /// prefix). `insecure` accepts any server certificate, for the self-signed one sessiond
    /// generates by default.
    pub fn new(base_url: &str, insecure: bool) -> Result<Client, ClientError> {
        let api = api_base(base_url)?;
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .danger_accept_invalid_certs(insecure)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            // The API never redirects; following one could carry the bearer token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("sessiond-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ClientError::transport)?;
        Ok(Client {
            http,
            api,
            token: None,
        })
    }

    /// The same client, authenticating with `token`.
    pub fn with_token(mut self, token: impl Into<String>) -> Client {
        self.set_token(token);
        self
    }

    pub fn set_token(&mut self, token: impl Into<String>) {
        self.token = Some(Token(token.into()));
    }

    pub fn clear_token(&mut self) {
        self.token = None;
    }

    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// The API root this client talks to (`{base}/api/v1`).
    pub fn api_url(&self) -> &str {
        self.api.as_str()
    }

    // ---- auth ----

    /// `POST /auth/login`. The returned token is not stored in this client: pass it to
    /// [`Client::set_token`] (the caller decides where it lives).
    pub async fn login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<LoginResponse, ClientError> {
        let body = LoginRequest {
            username: username.to_owned(),
            password: password.to_owned(),
        };
        self.send_json(Method::POST, &["auth", "login"], Some(&body))
            .await
    }

    /// `POST /auth/logout`: ends this client's own login session.
    pub async fn logout(&self) -> Result<(), ClientError> {
        self.send_empty(Method::POST, &["auth", "logout"], None::<&()>)
            .await
    }

    /// `GET /auth/whoami`.
    pub async fn whoami(&self) -> Result<WhoAmI, ClientError> {
        self.send_json(Method::GET, &["auth", "whoami"], None::<&()>)
            .await
    }

    // ---- sessions ----

    /// `POST /sessions` (201): registers a session; the answer carries its token, once.
    pub async fn register(&self, req: &RegisterRequest) -> Result<RegisterResponse, ClientError> {
        self.send_json(Method::POST, &["sessions"], Some(req)).await
    }

    /// `POST /sessions/validate`: the live session for `token`, touched.
    pub async fn validate(&self, token: &str) -> Result<Session, ClientError> {
        let body = ValidateRequest {
            token: token.to_owned(),
        };
        self.send_json(Method::POST, &["sessions", "validate"], Some(&body))
            .await
    }

    /// `POST /sessions/{id}/touch`.
    pub async fn touch(&self, id: &str, patch: &SessionPatch) -> Result<Session, ClientError> {
        self.send_json(Method::POST, &["sessions", id, "touch"], Some(patch))
            .await
    }

    /// `PATCH /sessions/{id}`.
    pub async fn patch(&self, id: &str, patch: &SessionPatch) -> Result<Session, ClientError> {
        self.send_json(Method::PATCH, &["sessions", id], Some(patch))
            .await
    }

    /// `POST /sessions/{id}/close`: the owner ends its session.
    pub async fn close(&self, id: &str) -> Result<Session, ClientError> {
        self.send_json(Method::POST, &["sessions", id, "close"], None::<&()>)
            .await
    }

    /// `GET /sessions/{id}`: one session, live or tombstone.
    pub async fn get(&self, id: &str) -> Result<Session, ClientError> {
        self.send_json(Method::GET, &["sessions", id], None::<&()>)
            .await
    }

    /// `GET /sessions` with the filters and paging of `params` (absent fields are not sent).
    pub async fn list(&self, params: &ListParams) -> Result<SessionPage, ClientError> {
        let mut url = self.url(&["sessions"])?;
        append_query(&mut url, params)?;
        self.execute(self.request(Method::GET, url)).await
    }

    /// `DELETE /sessions/{id}`: terminate one, recording `reason` when given.
    pub async fn terminate_one(
        &self,
        id: &str,
        reason: Option<&str>,
    ) -> Result<Session, ClientError> {
        let body = reason.map(|r| EndRequest {
            reason: Some(r.to_owned()),
        });
        self.send_json(Method::DELETE, &["sessions", id], body.as_ref())
            .await
    }

    /// `POST /sessions/terminate`: bulk terminate by ids or filter, or a dry run.
    pub async fn terminate(
        &self,
        req: &TerminateRequest,
    ) -> Result<TerminateResponse, ClientError> {
        self.send_json(Method::POST, &["sessions", "terminate"], Some(req))
            .await
    }

    // ---- administration ----

    /// `POST /tenants`.
    pub async fn create_tenant(&self, name: &str) -> Result<Tenant, ClientError> {
        let body = CreateTenant {
            name: name.to_owned(),
        };
        self.send_json(Method::POST, &["tenants"], Some(&body))
            .await
    }

    /// `GET /tenants`.
    pub async fn list_tenants(&self) -> Result<Vec<Tenant>, ClientError> {
        let page: Items<Tenant> = self
            .send_json(Method::GET, &["tenants"], None::<&()>)
            .await?;
        Ok(page.items)
    }

    /// `POST /principals`.
    pub async fn create_principal(
        &self,
        req: &CreatePrincipal,
    ) -> Result<PrincipalView, ClientError> {
        self.send_json(Method::POST, &["principals"], Some(req))
            .await
    }

    /// `GET /principals`.
    pub async fn list_principals(&self) -> Result<Vec<PrincipalView>, ClientError> {
        let page: Items<PrincipalView> = self
            .send_json(Method::GET, &["principals"], None::<&()>)
            .await?;
        Ok(page.items)
    }

    /// `GET /principals/{name}`.
    pub async fn get_principal(&self, name: &str) -> Result<PrincipalView, ClientError> {
        self.send_json(Method::GET, &["principals", name], None::<&()>)
            .await
    }

    /// `PATCH /principals/{name}`: password, role, disabled.
    pub async fn update_principal(
        &self,
        name: &str,
        req: &UpdatePrincipal,
    ) -> Result<PrincipalView, ClientError> {
        self.send_json(Method::PATCH, &["principals", name], Some(req))
            .await
    }

    /// `POST /principals/{name}/access-keys`: a new key; its secret is in this answer only.
    pub async fn create_access_key(&self, name: &str) -> Result<NewAccessKey, ClientError> {
        self.send_json(
            Method::POST,
            &["principals", name, "access-keys"],
            None::<&()>,
        )
        .await
    }

    /// `GET /principals/{name}/access-keys` (never secrets).
    pub async fn list_access_keys(&self, name: &str) -> Result<Vec<AccessKeyView>, ClientError> {
        let page: Items<AccessKeyView> = self
            .send_json(
                Method::GET,
                &["principals", name, "access-keys"],
                None::<&()>,
            )
            .await?;
        Ok(page.items)
    }

    /// `DELETE /principals/{name}/access-keys/{key}`.
    pub async fn delete_access_key(&self, name: &str, key: &str) -> Result<(), ClientError> {
        self.send_empty(
            Method::DELETE,
            &["principals", name, "access-keys", key],
            None::<&()>,
        )
        .await
    }

    // ---- webhooks ----

    /// `POST /webhooks`: the new webhook and its secret (shown only now).
    pub async fn create_webhook(
        &self,
        req: &sessiond_core::registry::CreateWebhook,
    ) -> Result<sessiond_core::registry::NewWebhook, ClientError> {
        self.send_json(Method::POST, &["webhooks"], Some(req)).await
    }

    pub async fn list_webhooks(
        &self,
    ) -> Result<Vec<sessiond_core::registry::WebhookView>, ClientError> {
        let items: Items<_> = self
            .send_json(Method::GET, &["webhooks"], None::<&()>)
            .await?;
        Ok(items.items)
    }

    pub async fn get_webhook(
        &self,
        id: &str,
    ) -> Result<sessiond_core::registry::WebhookView, ClientError> {
        self.send_json(Method::GET, &["webhooks", id], None::<&()>)
            .await
    }

    /// `PATCH /webhooks/{id}`: enable (retries start afresh) or disable.
    pub async fn set_webhook_enabled(
        &self,
        id: &str,
        enabled: bool,
    ) -> Result<sessiond_core::registry::WebhookView, ClientError> {
        let body = sessiond_core::registry::UpdateWebhook {
            enabled: Some(enabled),
        };
        self.send_json(Method::PATCH, &["webhooks", id], Some(&body))
            .await
    }

    pub async fn delete_webhook(&self, id: &str) -> Result<(), ClientError> {
        self.send_empty(Method::DELETE, &["webhooks", id], None::<&()>)
            .await
    }

    /// `GET /webhooks/{id}/deliveries`: attempts, newest first.
    pub async fn webhook_deliveries(
        &self,
        id: &str,
        limit: Option<usize>,
    ) -> Result<Vec<sessiond_core::sinks::DeliveryAttempt>, ClientError> {
        let mut url = self.url(&["webhooks", id, "deliveries"])?;
        if let Some(n) = limit {
            url.query_pairs_mut().append_pair("limit", &n.to_string());
        }
        let items: Items<_> = self.execute(self.request(Method::GET, url)).await?;
        Ok(items.items)
    }

    /// `POST /webhooks/{id}/test`: one signed `webhook.test` message, sent now.
    pub async fn test_webhook(
        &self,
        id: &str,
    ) -> Result<sessiond_core::sinks::DeliveryAttempt, ClientError> {
        self.send_json(Method::POST, &["webhooks", id, "test"], None::<&()>)
            .await
    }

    // ---- events ----

    /// `GET /events`: opens the event stream, resuming after `after` when given (else
    /// starting at the present). Read it with [`EventStream::next`].
    pub async fn events(
        &self,
        params: &EventsParams,
        after: Option<sessiond_core::events::EventId>,
    ) -> Result<EventStream, ClientError> {
        let url = self.url(&["events"])?;
        // A stream lasts as long as the subscriber wants; the stall check in EventStream
        // replaces the whole-request timeout.
        let mut rb = self
            .request(Method::GET, url)
            .query(&params.query())
            .timeout(Duration::from_secs(100 * 365 * 24 * 3600));
        if let Some(id) = after {
            rb = rb.header("Last-Event-ID", id.to_string());
        }
        let resp = rb.send().await.map_err(ClientError::transport)?;
        let status = resp.status();
        if !status.is_success() {
            let bytes = resp.bytes().await.map_err(ClientError::transport)?;
            return Err(api_error(status, &bytes));
        }
        Ok(EventStream::new(resp, after))
    }

    // ---- plumbing ----

    /// `{api}/seg/seg…`, each segment percent-encoded (a `/` in an id cannot escape its
    /// segment).
    fn url(&self, segments: &[&str]) -> Result<Url, ClientError> {
        if let Some(bad) = segments
            .iter()
            .find(|s| s.is_empty() || **s == "." || **s == "..")
        {
            return Err(ClientError::InvalidUrl(format!(
                "{bad:?} is not a valid path parameter"
            )));
        }
        let mut url = self.api.clone();
        url.path_segments_mut()
            .map_err(|()| ClientError::InvalidUrl(self.api.to_string()))?
            .extend(segments);
        Ok(url)
    }

    fn request(&self, method: Method, url: Url) -> reqwest::RequestBuilder {
        let rb = self.http.request(method, url);
        match &self.token {
            // `bearer_auth` marks the header sensitive, so reqwest never logs it either.
            Some(t) => rb.bearer_auth(&t.0),
            None => rb,
        }
    }

    async fn send_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        let url = self.url(segments)?;
        let mut rb = self.request(method, url);
        if let Some(b) = body {
            rb = rb.json(b);
        }
        self.execute(rb).await
    }

    async fn send_empty<B: Serialize + ?Sized>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&B>,
    ) -> Result<(), ClientError> {
        let url = self.url(segments)?;
        let mut rb = self.request(method, url);
        if let Some(b) = body {
            rb = rb.json(b);
        }
        // Whatever a successful answer carries is of no interest here.
        let _ = self.fetch(rb).await?;
        Ok(())
    }

    async fn execute<T: DeserializeOwned>(
        &self,
        rb: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let (status, bytes) = self.fetch(rb).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| ClientError::Decode(format!("HTTP {}: {e}", status.as_u16())))
    }

    /// Sends, reads the whole body, and turns a non-2xx answer into [`ClientError::Api`].
    async fn fetch(
        &self,
        rb: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, Vec<u8>), ClientError> {
        let resp = rb.send().await.map_err(ClientError::transport)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(ClientError::transport)?;
        if status.is_success() {
            Ok((status, bytes.to_vec()))
        } else {
            Err(api_error(status, &bytes))
        }
    }
}

/// Parses and checks the base URL, and appends `/api/v1` to its path.
fn api_base(base_url: &str) -> Result<Url, ClientError> {
    let mut url = Url::parse(base_url.trim())
        .map_err(|e| ClientError::InvalidUrl(format!("{base_url:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ClientError::InvalidUrl(format!(
            "{base_url:?}: the scheme must be http or https"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ClientError::InvalidUrl(format!(
            "{base_url:?}: a server URL has no query or fragment"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Credentials in a URL end up in shell history and error messages.
        return Err(ClientError::InvalidUrl(
            "a server URL must not carry credentials; use `sessiond login`".to_owned(),
        ));
    }
    url.path_segments_mut()
        .map_err(|()| ClientError::InvalidUrl(format!("{base_url:?} cannot be a base URL")))?
        .pop_if_empty()
        .extend(["api", "v1"]);
    Ok(url)
}

/// Adds every present field of `params` as a query pair. Going through a JSON object keeps
/// the names exactly the serde names the server deserialises (including the flattened filter).
fn append_query(url: &mut Url, params: &ListParams) -> Result<(), ClientError> {
    let value = serde_json::to_value(params)
        .map_err(|e| ClientError::InvalidUrl(format!("cannot encode the query: {e}")))?;
    let serde_json::Value::Object(map) = value else {
        return Err(ClientError::InvalidUrl(
            "the list query is not an object".to_owned(),
        ));
    };
    let pairs: Vec<(String, String)> = map
        .into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some((k, s)),
            other => Some((k, other.to_string())),
        })
        .collect();
    if !pairs.is_empty() {
        url.query_pairs_mut().extend_pairs(pairs);
    }
    Ok(())
}

/// The error of a non-2xx answer: the server's `ErrorBody` when it sent one, else a code
/// made from the status so that callers can still match on something.
fn api_error(status: StatusCode, body: &[u8]) -> ClientError {
    if let Ok(e) = serde_json::from_slice::<ErrorBody>(body) {
        return ClientError::Api {
            status: status.as_u16(),
            code: e.error.code,
            message: e.error.message,
        };
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("unexpected HTTP status")
            .to_owned()
    } else {
        text.chars().take(MAX_RAW_ERROR_CHARS).collect()
    };
    ClientError::Api {
        status: status.as_u16(),
        code: format!("http_{}", status.as_u16()),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_gets_the_api_prefix() {
        for (base, want) in [
            ("http://127.0.0.1:8000", "http://127.0.0.1:8000/api/v1"),
            ("http://127.0.0.1:8000/", "http://127.0.0.1:8000/api/v1"),
            ("https://h/prefix/", "https://h/prefix/api/v1"),
            ("https://h/prefix", "https://h/prefix/api/v1"),
        ] {
            assert_eq!(api_base(base).expect("valid").as_str(), want, "{base}");
        }
    }

    #[test]
    fn bad_base_urls_are_rejected() {
        for base in [
            "",
            "127.0.0.1:8000",
            "ftp://h",
            "http://h/?a=b",
            "http://u:p@h/",
            "mailto:x@y",
        ] {
            assert!(
                matches!(api_base(base), Err(ClientError::InvalidUrl(_))),
                "{base}"
            );
        }
    }

    #[test]
    fn path_parameters_are_encoded_and_checked() {
        let c = Client::new("http://h", false).expect("client");
        assert_eq!(
            c.url(&["principals", "a/b c"]).expect("url").as_str(),
            "http://h/api/v1/principals/a%2Fb%20c"
        );
        assert!(c.url(&["sessions", ".."]).is_err());
        assert!(c.url(&["sessions", ""]).is_err());
    }

    #[test]
    fn list_query_skips_absent_fields() {
        let mut url = Url::parse("http://h/api/v1/sessions").expect("url");
        let mut p = ListParams::default();
        p.filter.service = Some("smb".into());
        p.filter.identity = Some("ad:alice & bob".into());
        p.limit = Some("10".into());
        append_query(&mut url, &p).expect("query");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs.len(), 3, "{url}");
        assert!(pairs.contains(&("service".into(), "smb".into())));
        assert!(pairs.contains(&("identity".into(), "ad:alice & bob".into())));
        assert!(pairs.contains(&("limit".into(), "10".into())));

        let mut bare = Url::parse("http://h/api/v1/sessions").expect("url");
        append_query(&mut bare, &ListParams::default()).expect("query");
        assert_eq!(bare.as_str(), "http://h/api/v1/sessions");
    }

    #[test]
    fn error_bodies_map_to_api_errors() {
        let e = api_error(
            StatusCode::NOT_FOUND,
            br#"{"error":{"code":"session_not_found","message":"no such session"}}"#,
        );
        assert_eq!(
            e,
            ClientError::Api {
                status: 404,
                code: "session_not_found".into(),
                message: "no such session".into()
            }
        );
        assert_eq!(e.to_string(), "no such session (session_not_found)");

        let e = api_error(StatusCode::BAD_GATEWAY, b"");
        assert_eq!(e.code(), Some("http_502"));
        assert_eq!(e.to_string(), "Bad Gateway (http_502)");

        let long = "x".repeat(1000);
        let e = api_error(StatusCode::INTERNAL_SERVER_ERROR, long.as_bytes());
        let ClientError::Api { message, .. } = e else {
            panic!("not an api error")
        };
        assert_eq!(message.len(), MAX_RAW_ERROR_CHARS);
    }

    #[test]
    fn debug_never_shows_the_token() {
        let c = Client::new("http://h", false)
            .expect("client")
            .with_token("sekrit-token-value");
        let shown = format!("{c:?}");
        assert!(!shown.contains("sekrit"), "{shown}");
        assert!(shown.contains("has_token: true"), "{shown}");
    }
}
