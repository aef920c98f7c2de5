//! Addressing under `/sdk/vim25/{release}/{type}/{moId}/{member}`: release validation, the
//! managed objects this server has, and the fallbacks that answer everything else as a fault.

use super::dto::MoRef;
use super::error::Fault;
use crate::AppState;
use axum::extract::{FromRequestParts, OriginalUri, RawPathParams};
use axum::http::request::Parts;
use axum::http::StatusCode;
use std::marker::PhantomData;

/// The URL prefix the dialect is nested under (see `crate::app`).
const PREFIX: &str = "/sdk/vim25/";

/// A vSphere release schema `N.N.N.N` (e.g. `8.0.3.0`): four dot-separated decimal numbers.
pub fn valid_release(r: &str) -> bool {
    let parts: Vec<&str> = r.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| (1..=6).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
}

/// A managed object type this server implements, with its one instance's moId.
pub trait Managed: Send + Sync + 'static {
    const TYPE: &'static str;
    const MO_ID: &'static str;
}

pub struct ServiceInstance;
impl Managed for ServiceInstance {
    const TYPE: &'static str = "ServiceInstance";
    const MO_ID: &'static str = "ServiceInstance";
}

pub struct SessionManager;
impl Managed for SessionManager {
    const TYPE: &'static str = "SessionManager";
    const MO_ID: &'static str = "SessionManager";
}

/// Objects ServiceContent names. Only ServiceInstance and SessionManager have members here;
/// the other two are listed because the schema requires them, and calls on them are
/// `MethodNotFound` rather than a pretence of an inventory.
const KNOWN_OBJECTS: &[(&str, &str)] = &[
    (ServiceInstance::TYPE, ServiceInstance::MO_ID),
    (SessionManager::TYPE, SessionManager::MO_ID),
    ("Folder", "group-d1"),
    ("PropertyCollector", "propertyCollector"),
];

/// The release of a request addressed to `M`'s instance. Validates the path before anything
/// else, so that a bad release or moId is reported whatever the credentials or the body.
pub struct Target<M> {
    pub release: String,
    _m: PhantomData<M>,
}

impl<M: Managed> FromRequestParts<AppState> for Target<M> {
    type Rejection = Fault;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Fault> {
        let params = RawPathParams::from_request_parts(parts, st)
            .await
            .map_err(|_| Fault::route_not_found())?;
        let (mut release, mut mo_id) = (None, None);
        for (k, v) in &params {
            match k {
                "release" => release = Some(v.to_string()),
                "moId" => mo_id = Some(v.to_string()),
                _ => {}
            }
        }
        let release = release
            .filter(|r| valid_release(r))
            .ok_or_else(Fault::route_not_found)?;
        match mo_id {
            Some(id) if id == M::MO_ID => Ok(Target {
                release,
                _m: PhantomData,
            }),
            Some(id) => Err(Fault::ManagedObjectNotFound {
                obj: MoRef::new(M::TYPE, &id),
            }),
            None => Err(Fault::route_not_found()),
        }
    }
}

/// Everything under the prefix that no route took: a `{type}/{moId}/{member}` path names an
/// object that does not exist here (ManagedObjectNotFound) or a member it lacks
/// (MethodNotFound), both method faults; any other shape, or a bad release, is a 404.
pub async fn fallback(OriginalUri(uri): OriginalUri) -> Fault {
    let Some(rest) = uri.path().strip_prefix(PREFIX) else {
        return Fault::route_not_found();
    };
    let segs: Vec<&str> = rest.split('/').collect();
    match segs.as_slice() {
        [release, kind, mo_id, member]
            if valid_release(release) && [kind, mo_id, member].iter().all(|s| !s.is_empty()) =>
        {
            let obj = MoRef::new(kind, mo_id);
            if KNOWN_OBJECTS.contains(&(*kind, *mo_id)) {
                Fault::MethodNotFound {
                    receiver: obj,
                    method: member.to_string(),
                }
            } else {
                Fault::ManagedObjectNotFound { obj }
            }
        }
        _ => Fault::route_not_found(),
    }
}

pub async fn method_not_allowed() -> Fault {
    Fault::InvalidRequest {
        status: StatusCode::METHOD_NOT_ALLOWED,
        message: "method not allowed on this endpoint".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases() {
        for ok in ["8.0.3.0", "9.0.0.0", "10.12.0.123456"] {
            assert!(valid_release(ok), "{ok}");
        }
        for bad in [
            "8.0.3",
            "8.0.3.0.1",
            "latest",
            "8.0.x.0",
            "",
            "8..3.0",
            "1.2.3.1234567",
        ] {
            assert!(!valid_release(bad), "{bad}");
        }
    }
}
