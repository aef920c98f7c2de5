//! Who is calling a DDS route: an `X-Auth-Token` (any sessiond API token) or an AK/SK
//! signature as the Huawei SDK makes it, then the project in the path, which must be the
//! caller's tenant ([`DdsRequest`]; IAM's project lookup, which has no project in its path,
//! uses [`Authenticated`] alone). The extractors also hand over the body and the decoded query,
//! because a signature covers both: the handler reads exactly the bytes and pairs that were
//! verified.

use super::error::{DdsError, DdsResult};
use super::signing::{self, RequestView, CONTENT_SHA_HEADER, UNSIGNED_PAYLOAD};
use crate::extract::{query_pairs, read_body};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, OriginalUri, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use sessiond_core::Caller;
use std::time::Duration;

pub const TOKEN_HEADER: &str = "x-auth-token";
pub const PROJECT_HEADER: &str = "x-project-id";
/// How far an `X-Sdk-Date` may be from the server's clock, either way.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

/// An authenticated DDS request: the caller (whose tenant is the path's project), the node
/// of the path, the decoded query and the raw body.
pub struct DdsRequest {
    pub caller: Caller,
    pub node_id: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// The one value of a header, or `None` when absent; repeated or non-text values are refused.
fn single<'h>(headers: &'h HeaderMap, name: &str) -> DdsResult<Option<&'h str>> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => v
            .to_str()
            .map(|s| Some(s.trim()))
            .map_err(|_| DdsError::Auth(format!("the {name} header is not text"))),
        (Some(_), Some(_)) => Err(DdsError::Auth(format!("the {name} header is repeated"))),
    }
}

/// Checks a signed request up to the point where the secret is needed; returns the access
/// key's caller once the signature verifies.
async fn signed_caller(
    st: &AppState,
    authorization: &str,
    view: &RequestView<'_>,
    from: Option<&str>,
) -> DdsResult<Caller> {
    let auth =
        signing::parse_authorization(authorization).map_err(|e| DdsError::Auth(e.to_string()))?;
    // The SDK sends this for bodies it did not hash: such a request would let anyone swap the
    // body of a captured one.
    if view.headers.get_all(CONTENT_SHA_HEADER).iter().any(|v| {
        v.as_bytes()
            .trim_ascii()
            .eq_ignore_ascii_case(UNSIGNED_PAYLOAD.as_bytes())
    }) {
        return Err(DdsError::Auth(
            "UNSIGNED-PAYLOAD is not accepted: the body must be signed".into(),
        ));
    }
    let date = signing::sdk_date(view.headers)
        .ok_or_else(|| DdsError::Auth("the X-Sdk-Date header is missing or repeated".into()))?;
    let at = signing::parse_sdk_date(date)
        .ok_or_else(|| DdsError::Auth("X-Sdk-Date must look like 20261123T143436Z".into()))?;
    // Bounds how long a captured request can be replayed; both directions, so a client with
    // a clock far ahead cannot mint requests that stay valid for longer.
    let now = st.registry.clock().now();
    let skew = if at > now {
        at.since(now)
    } else {
        now.since(at)
    };
    if skew > MAX_CLOCK_SKEW {
        return Err(DdsError::Auth(
            "X-Sdk-Date is more than 15 minutes away from the server's time".into(),
        ));
    }
    // An address that keeps failing backs off before any key is looked up.
    st.registry.address_failures(from).await?;
    let (caller, secret) = match st.registry.access_key_caller(&auth.access_key).await {
        Ok(found) => found,
        Err(sessiond_core::CoreError::Unauthenticated) => {
            st.registry.signature_failed(from, &auth.access_key).await?;
            return Err(DdsError::Auth("unknown or revoked access key".into()));
        }
        Err(e) => return Err(e.into()),
    };
    if let Err(e) = signing::verify(&secret, &auth, view) {
        st.registry.signature_failed(from, &auth.access_key).await?;
        return Err(DdsError::Auth(e.to_string()));
    }
    Ok(caller)
}

/// The project and node of the path.
async fn path_ids(parts: &mut Parts, st: &AppState) -> DdsResult<(String, String)> {
    let params = RawPathParams::from_request_parts(parts, st)
        .await
        .map_err(|_| DdsError::BadRequest("path parameters must be UTF-8".into()))?;
    let (mut project_id, mut node_id) = (None, None);
    for (k, v) in &params {
        match k {
            "project_id" => project_id = Some(v.to_string()),
            "node_id" => node_id = Some(v.to_string()),
            _ => {}
        }
    }
    match (project_id, node_id) {
        (Some(project_id), Some(node_id)) => Ok((project_id, node_id)),
        _ => Err(DdsError::NoSuchApi("no such API".into())),
    }
}

/// The SDK sends the project again in X-Project-Id (and signs it); a request whose header
/// names another project than its path is contradictory, whatever the auth.
fn check_project_header(headers: &HeaderMap, project_id: &str) -> DdsResult<()> {
    match single(headers, PROJECT_HEADER)? {
        Some(p) if p != project_id => Err(DdsError::Auth(
            "X-Project-Id does not match the project in the path".into(),
        )),
        _ => Ok(()),
    }
}

/// The caller of a request: by its signature when it carries `Authorization`, else by its
/// `X-Auth-Token`.
async fn caller(st: &AppState, view: &RequestView<'_>, from: Option<&str>) -> DdsResult<Caller> {
    if let Some(authorization) = view.headers.get(header::AUTHORIZATION) {
        let authorization = authorization
            .to_str()
            .map_err(|_| DdsError::Auth("the Authorization header is not text".into()))?;
        signed_caller(st, authorization, view, from).await
    } else if let Some(token) = single(view.headers, TOKEN_HEADER)? {
        Ok(st.registry.authenticate(token).await?)
    } else {
        Err(DdsError::Auth(
            "no credentials: send X-Auth-Token or sign the request (SDK-HMAC-SHA256)".into(),
        ))
    }
}

/// A request whose caller is authenticated, with no path of its own to check (IAM's
/// project lookup, `super::projects`). [`DdsRequest`] builds on it.
pub struct Authenticated {
    pub caller: Caller,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Reads the body and authenticates the request; `project_id`, when the path names one, is
/// the project `X-Project-Id` must repeat.
async fn authenticate(
    parts: Parts,
    body: axum::body::Body,
    st: &AppState,
    project_id: Option<&str>,
) -> DdsResult<Authenticated> {
    // The nested router strips its prefix from `parts.uri`; the signature covers the path
    // the client sent.
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map(|o| o.0.clone())
        .unwrap_or_else(|| parts.uri.clone());
    let method: Method = parts.method.clone();
    let headers = parts.headers.clone();
    // Where failed signatures are counted (the socket peer, or a trusted proxy's word).
    let from = crate::client_addr::client_ip(&parts, &st.trusted_proxies).map(|ip| ip.to_string());
    let body = read_body(Request::from_parts(parts, body), st).await?;
    let query = query_pairs(uri.query());
    if let Some(project_id) = project_id {
        check_project_header(&headers, project_id)?;
    }
    let view = RequestView {
        method: method.as_str(),
        raw_path: uri.path(),
        query: &query,
        headers: &headers,
        authority: uri.authority().map(|a| a.as_str()),
        body: &body,
    };
    let caller = caller(st, &view, from.as_deref()).await?;
    Ok(Authenticated {
        caller,
        query,
        headers,
        body,
    })
}

impl FromRequest<AppState> for Authenticated {
    type Rejection = DdsError;

    async fn from_request(req: Request, st: &AppState) -> DdsResult<Self> {
        let (parts, body) = req.into_parts();
        authenticate(parts, body, st, None).await
    }
}

impl FromRequest<AppState> for DdsRequest {
    type Rejection = DdsError;

    async fn from_request(req: Request, st: &AppState) -> DdsResult<Self> {
        let (mut parts, body) = req.into_parts();
        let (project_id, node_id) = path_ids(&mut parts, st).await?;
        let a = authenticate(parts, body, st, Some(&project_id)).await?;
        // Vendor dialects never cross tenants: the project is the caller's own tenant, and any
        // other, existing or not, gets the same answer.
        match st.registry.own_tenant_named(&a.caller, &project_id).await {
            Ok(_) => {}
            Err(sessiond_core::CoreError::NotFound(_)) => return Err(DdsError::ProjectMismatch),
            Err(e) => return Err(e.into()),
        }
        Ok(DdsRequest {
            caller: a.caller,
            node_id,
            query: a.query,
            headers: a.headers,
            body: a.body,
        })
    }
}
