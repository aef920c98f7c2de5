//! Global load shedding: beyond `AppState::max_in_flight` requests in flight (one limit for
//! the whole application, not per route), a request is refused at once with 503 and
//! `Retry-After` rather than queued until every caller times out. The refusal is in the
//! error format of the dialect whose prefix the path is under.

use crate::{commvault, dds, native, qumulo, vsphere};
use axum::error_handling::HandleErrorLayer;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::time::Duration;

/// The dialect that owns a path, by its prefix (see `crate::app`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dialect {
    Native,
    Qumulo,
    Vsphere,
    Dds,
    Commvault,
}

/// `path` is `prefix` or under it (`/v1` covers `/v1/x`, not `/v10`).
fn under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

impl Dialect {
    fn of_path(path: &str) -> Dialect {
        if under(path, "/v1") {
            Dialect::Qumulo
        } else if under(path, "/sdk") {
            Dialect::Vsphere
        } else if under(path, "/v3") {
            Dialect::Dds
        } else if under(path, "/webconsole/api") || under(path, "/commandcenter/api") {
            Dialect::Commvault
        } else {
            Dialect::Native
        }
    }
}

/// The 503 of a shed request, or of one that outlived the request timeout: the only two
/// errors this stack yields.
async fn refuse(method: Method, uri: Uri, headers: HeaderMap, e: tower::BoxError) -> Response {
    if e.is::<tower::timeout::error::Elapsed>() {
        metrics::counter!("sessiond_http_requests_total", "route" => "timeout", "method" => method.to_string(), "status" => "503").increment(1);
        tracing::warn!(%method, path = uri.path(), "request timed out");
        return timed_out(Dialect::of_path(uri.path()), &uri, &headers);
    }
    // Shed requests never reach routing, so the metrics middleware does not see them.
    metrics::counter!("sessiond_http_requests_total", "route" => "shed", "method" => method.to_string(), "status" => "503").increment(1);
    match Dialect::of_path(uri.path()) {
        Dialect::Native => native::ApiError::Overloaded.into_response(),
        Dialect::Qumulo => qumulo::QumuloError::Overloaded.into_response(),
        // VI/JSON under /sdk/vim25/; the rest of /sdk is SOAP, whose clients read only 200
        // and 500 (pyvmomi), so there the 503 is a SystemError fault with 500.
        Dialect::Vsphere if uri.path().starts_with("/sdk/vim25/") => {
            vsphere::Fault::overloaded().into_response()
        }
        Dialect::Vsphere => vsphere::soap::overloaded(),
        Dialect::Dds => dds::DdsError::Overloaded.into_response(),
        Dialect::Commvault => commvault::overloaded(&headers),
    }
}

fn timed_out(dialect: Dialect, uri: &Uri, headers: &HeaderMap) -> Response {
    match dialect {
        Dialect::Native => native::ApiError::TimedOut.into_response(),
        Dialect::Qumulo => qumulo::QumuloError::TimedOut.into_response(),
        Dialect::Vsphere if uri.path().starts_with("/sdk/vim25/") => {
            vsphere::Fault::timed_out().into_response()
        }
        Dialect::Vsphere => vsphere::soap::timed_out(),
        Dialect::Dds => dds::DdsError::TimedOut.into_response(),
        Dialect::Commvault => commvault::timed_out(headers),
    }
}

/// `routes` behind one in-flight limit and one time limit per request (until its answer's
/// head: an event stream's body runs on). The layers wrap the router as a whole:
/// `Router::layer` would give every route (and method) a limit of its own.
pub fn shed_beyond(max_in_flight: usize, request_timeout: Duration, routes: Router) -> Router {
    let service = tower::ServiceBuilder::new()
        .layer(HandleErrorLayer::new(refuse))
        .load_shed()
        .concurrency_limit(max_in_flight)
        .timeout(request_timeout)
        .service(routes);
    Router::new().fallback_service(service)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialects_by_prefix() {
        let cases = [
            ("/v1", Dialect::Qumulo),
            ("/v1/smb/sessions/", Dialect::Qumulo),
            ("/v10", Dialect::Native),
            ("/api/v1/sessions", Dialect::Native),
            ("/sdk", Dialect::Vsphere),
            ("/sdk/vim25/8.0.2.0/x", Dialect::Vsphere),
            ("/sdkx", Dialect::Native),
            ("/v3/", Dialect::Dds),
            ("/webconsole/api", Dialect::Commvault),
            ("/commandcenter/api/Sessions", Dialect::Commvault),
            ("/commandcenter/apis", Dialect::Native),
            ("/", Dialect::Native),
            ("/healthz", Dialect::Native),
        ];
        for (path, dialect) in cases {
            assert_eq!(Dialect::of_path(path), dialect, "{path}");
        }
    }
}
