//! vSphere faults `{_typeName, faultCause?, faultMessage:[]}` and their HTTP statuses: the one
//! place where core errors, body rejections and routing failures become VI/JSON answers.
//!
//! Status codes follow vCenter's JSON protocol: every method fault, including
//! `NotAuthenticated`, `InvalidLogin`, `NoPermission` and body faults, is HTTP 500 with the
//! fault as the body (OpenAPI spec of the Virtual Infrastructure JSON API 8.0.2.0, e.g.
//! `SessionManager_TerminateSession` "500: NotFound, InvalidArgument"; vCenter 8.0.3 observed
//! answering `NotAuthenticated`/`InvalidLogin`/`NoPermission` and `InvalidArgument` with 500).
//! Only the HTTP layer's own refusals keep their status: unknown route 404, wrong method 405,
//! body too large 413, wrong content type 415, store unavailable 503.

use super::dto::MoRef;
use crate::extract::BodyError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use sessiond_core::{CoreError, StoreError};

/// How much of a client-supplied value a fault message echoes back.
const ECHO_LIMIT: usize = 128;

#[derive(Debug)]
pub enum Fault {
    /// No valid `vmware-api-session-id`. vSphere's NotAuthenticated extends NoPermission and
    /// names the object and `System.View`, as vCenter does for an anonymous call.
    NotAuthenticated {
        object: MoRef,
    },
    /// A privilege the caller lacks, on `object`.
    NoPermission {
        object: MoRef,
        privilege: &'static str,
    },
    /// Bad credentials; also a login refused by backoff (vSphere's lockout answers the same),
    /// then with `Retry-After`.
    InvalidLogin {
        retry_after_secs: Option<u64>,
    },
    InvalidLocale,
    /// An id that is not a live session in scope (unknown, ended, other tenant, other service).
    NotFound {
        session_id: Option<String>,
    },
    InvalidArgument {
        property: &'static str,
        message: String,
    },
    /// The request itself is unusable (body, route, method); `status` is 500 for body faults.
    InvalidRequest {
        status: StatusCode,
        message: String,
    },
    ManagedObjectNotFound {
        obj: MoRef,
    },
    MethodNotFound {
        receiver: MoRef,
        method: String,
    },
    InvalidState {
        message: String,
    },
    /// Server-side failure; details stay in the log.
    SystemError {
        status: StatusCode,
        reason: String,
    },
}

fn echo(s: &str) -> String {
    s.chars().take(ECHO_LIMIT).collect()
}

fn message(key: &str, text: String) -> Value {
    json!({"_typeName": "LocalizableMessage", "key": key, "message": text})
}

impl Fault {
    pub fn not_authenticated() -> Self {
        Fault::NotAuthenticated {
            object: MoRef::session_manager(),
        }
    }

    pub fn route_not_found() -> Self {
        Fault::InvalidRequest {
            status: StatusCode::NOT_FOUND,
            message: "no such endpoint under /sdk/vim25/{release}".into(),
        }
    }

    pub fn not_found(id: &str) -> Self {
        Fault::NotFound {
            session_id: Some(id.to_string()),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Fault::InvalidRequest { status, .. } | Fault::SystemError { status, .. } => *status,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Fault::NotAuthenticated { .. } => "NotAuthenticated",
            Fault::NoPermission { .. } => "NoPermission",
            Fault::InvalidLogin { .. } => "InvalidLogin",
            Fault::InvalidLocale => "InvalidLocale",
            Fault::NotFound { .. } => "NotFound",
            Fault::InvalidArgument { .. } => "InvalidArgument",
            Fault::InvalidRequest { .. } => "InvalidRequest",
            Fault::ManagedObjectNotFound { .. } => "ManagedObjectNotFound",
            Fault::MethodNotFound { .. } => "MethodNotFound",
            Fault::InvalidState { .. } => "InvalidState",
            Fault::SystemError { .. } => "SystemError",
        }
    }

    /// The fault object: `_typeName`, `faultMessage` (always present, possibly empty) and the
    /// fault's own fields. `faultCause` is unset, and VI/JSON omits unset properties.
    pub fn body(&self) -> Value {
        let mut m = Map::new();
        m.insert("_typeName".into(), json!(self.type_name()));
        let mut messages = Vec::new();
        match self {
            Fault::NotAuthenticated { object } => {
                messages.push(message(
                    "sessiond.vsphere.notAuthenticated",
                    "The session is not authenticated.".into(),
                ));
                m.insert("object".into(), json!(object));
                m.insert("privilegeId".into(), json!("System.View"));
            }
            Fault::NoPermission { object, privilege } => {
                messages.push(message(
                    "sessiond.vsphere.noPermission",
                    format!("Permission to perform this operation was denied: {privilege}."),
                ));
                m.insert("object".into(), json!(object));
                m.insert("privilegeId".into(), json!(privilege));
                m.insert(
                    "missingPrivileges".into(),
                    json!([{
                        "_typeName": "NoPermissionEntityPrivileges",
                        "entity": object,
                        "privilegeIds": [privilege],
                    }]),
                );
            }
            Fault::InvalidLogin { retry_after_secs } => {
                // Unknown user and wrong password answer alike; only a backoff adds a hint.
                if let Some(s) = retry_after_secs {
                    messages.push(message(
                        "sessiond.vsphere.loginBackoff",
                        format!("Too many failed logins; retry in {s}s."),
                    ));
                }
            }
            Fault::InvalidLocale => {}
            Fault::NotFound { session_id } => {
                if let Some(id) = session_id {
                    messages.push(message(
                        "sessiond.vsphere.sessionNotFound",
                        format!("Session {:?} is not a valid logged-on session.", echo(id)),
                    ));
                }
            }
            Fault::InvalidArgument {
                property,
                message: text,
            } => {
                messages.push(message("sessiond.vsphere.invalidArgument", text.clone()));
                m.insert("invalidProperty".into(), json!(property));
            }
            Fault::InvalidRequest { message: text, .. } | Fault::InvalidState { message: text } => {
                messages.push(message("sessiond.vsphere.invalidRequest", text.clone()));
            }
            Fault::ManagedObjectNotFound { obj } => {
                m.insert("obj".into(), json!(obj));
            }
            Fault::MethodNotFound { receiver, method } => {
                m.insert("receiver".into(), json!(receiver));
                m.insert("method".into(), json!(echo(method)));
            }
            Fault::SystemError { reason, .. } => {
                m.insert("reason".into(), json!(reason));
            }
        }
        m.insert("faultMessage".into(), Value::Array(messages));
        Value::Object(m)
    }
}

impl From<CoreError> for Fault {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Unauthenticated => Fault::not_authenticated(),
            CoreError::InvalidCredentials => Fault::InvalidLogin {
                retry_after_secs: None,
            },
            CoreError::RateLimited { retry_after_secs } => Fault::InvalidLogin {
                retry_after_secs: Some(retry_after_secs),
            },
            CoreError::Forbidden(p) => Fault::NoPermission {
                object: MoRef::session_manager(),
                privilege: p.as_str(),
            },
            CoreError::NotFound(_)
            | CoreError::SessionEnded(_)
            | CoreError::Store(StoreError::NotFound) => Fault::NotFound { session_id: None },
            CoreError::Invalid { field, message } => Fault::InvalidArgument {
                property: field,
                message: format!("invalid {field}: {message}"),
            },
            CoreError::BadRequest(message) => Fault::InvalidRequest {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                message,
            },
            e @ (CoreError::Conflict(_)
            | CoreError::ConfirmMismatch
            | CoreError::Store(StoreError::Conflict(_))) => Fault::InvalidState {
                message: e.to_string(),
            },
            CoreError::Store(StoreError::Unavailable(detail)) => {
                tracing::error!(error = %detail, "vsphere request failed: store unavailable");
                Fault::SystemError {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    reason: "the store is unavailable; retry shortly".into(),
                }
            }
            e @ (CoreError::Store(StoreError::Internal(_)) | CoreError::Internal(_)) => {
                // Details of internal failures go to the log, not to the client.
                tracing::error!(error = %e, "vsphere request failed");
                Fault::SystemError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    reason: "internal error".into(),
                }
            }
        }
    }
}

impl From<BodyError> for Fault {
    fn from(e: BodyError) -> Self {
        let status = match e {
            BodyError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            // A body the method cannot use is a method fault, answered like every other.
            BodyError::Syntax(_) | BodyError::Data(_) | BodyError::Read(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        Fault::InvalidRequest {
            status,
            message: e.to_string(),
        }
    }
}

impl IntoResponse for Fault {
    fn into_response(self) -> Response {
        let mut resp = (self.status(), axum::Json(self.body())).into_response();
        let h = resp.headers_mut();
        match &self {
            Fault::InvalidLogin {
                retry_after_secs: Some(s),
            } => {
                if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                    h.insert(header::RETRY_AFTER, v);
                }
            }
            Fault::SystemError { status, .. } if *status == StatusCode::SERVICE_UNAVAILABLE => {
                h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        resp
    }
}

pub type VimResult<T> = Result<T, Fault>;

#[cfg(test)]
mod tests {
    use super::*;
    use sessiond_core::Privilege;

    #[test]
    fn faults_carry_type_name_and_messages() {
        let b = Fault::from(CoreError::Forbidden(Privilege::SessionsTerminate)).body();
        assert_eq!(b["_typeName"], "NoPermission");
        assert_eq!(b["privilegeId"], "Sessions.TerminateSession");
        assert_eq!(b["object"]["type"], "SessionManager");
        assert!(b.get("faultCause").is_none());
        let b = Fault::from(CoreError::InvalidCredentials).body();
        assert_eq!(b, json!({"_typeName": "InvalidLogin", "faultMessage": []}));
    }

    #[test]
    fn echoed_ids_are_bounded() {
        let long = "x".repeat(10_000);
        let b = Fault::not_found(&long).body();
        let text = b["faultMessage"][0]["message"].as_str().unwrap_or("");
        assert!(text.len() < 300, "{text}");
    }
}
