//! vSphere faults `{_typeName, faultCause?, faultMessage:[]}` and their HTTP statuses: the one
//! place where core errors, body rejections and routing failures become VI/JSON answers.
//!
//! Status codes follow vCenter's JSON protocol: every method fault, including
//! `NotAuthenticated`, `InvalidLogin`, `NoPermission` and body faults, is HTTP 500 with the
//! fault as the body (OpenAPI spec of the Virtual Infrastructure JSON API 8.0.2.0, e.g.
//! `SessionManager_TerminateSession` "500: NotFound, InvalidArgument"; vCenter 8.0.3 observed
//! answering `NotAuthenticated`/`InvalidLogin`/`NoPermission` and `InvalidArgument` with 500).
//! Only the HTTP layer's own refusals keep their status: unknown route 404, wrong method 405,
//! body too large 413, wrong content type 415, store unavailable or server overloaded 503.

use super::dto::MoRef;
use crate::extract::BodyError;
use crate::render::{self, ErrorAnswer};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use sessiond_core::CoreError;

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

    /// Shed by the global in-flight limit (`crate::overload`).
    pub fn overloaded() -> Self {
        Fault::SystemError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            reason: render::OVERLOADED.into(),
        }
    }

    pub fn timed_out() -> Self {
        Fault::SystemError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            reason: render::TIMED_OUT.into(),
        }
    }

    pub fn not_found(id: &str) -> Self {
        Fault::NotFound {
            session_id: Some(id.to_string()),
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

    /// The key of the fault's one `LocalizableMessage`; `None` for faults that carry none.
    fn message_key(&self) -> Option<&'static str> {
        match self {
            Fault::NotAuthenticated { .. } => Some("sessiond.vsphere.notAuthenticated"),
            Fault::NoPermission { .. } => Some("sessiond.vsphere.noPermission"),
            // Unknown user and wrong password answer alike; only a backoff adds a hint.
            Fault::InvalidLogin {
                retry_after_secs: Some(_),
            } => Some("sessiond.vsphere.loginBackoff"),
            Fault::NotFound {
                session_id: Some(_),
            } => Some("sessiond.vsphere.sessionNotFound"),
            Fault::InvalidArgument { .. } => Some("sessiond.vsphere.invalidArgument"),
            Fault::InvalidRequest { .. } | Fault::InvalidState { .. } => {
                Some("sessiond.vsphere.invalidRequest")
            }
            Fault::InvalidLogin { .. }
            | Fault::InvalidLocale
            | Fault::NotFound { .. }
            | Fault::ManagedObjectNotFound { .. }
            | Fault::MethodNotFound { .. }
            | Fault::SystemError { .. } => None,
        }
    }

    /// The line clients print for the fault (govmomi and pyvmomi show `faultstring`): the
    /// fault's message when it has one, else vCenter's own text for the type (govmomi's
    /// fixtures: InvalidLogin is "Cannot complete login due to an incorrect user name or
    /// password.").
    pub(crate) fn faultstring(&self, message: &str) -> String {
        if !message.is_empty() {
            return message.to_string();
        }
        match self {
            Fault::InvalidLogin { .. } => {
                "Cannot complete login due to an incorrect user name or password.".into()
            }
            Fault::InvalidLocale => "A specified parameter was not correct: locale".into(),
            Fault::NotFound { .. } => "The object or item referred to could not be found.".into(),
            Fault::ManagedObjectNotFound { obj } => format!(
                "The object '{}:{}' has already been deleted or has not been completely created",
                obj.kind,
                echo(&obj.value)
            ),
            Fault::MethodNotFound { method, .. } => {
                format!("Method {} not found.", echo(method))
            }
            Fault::SystemError { reason, .. } => {
                format!("A general system error occurred: {reason}")
            }
            Fault::NotAuthenticated { .. } => "The session is not authenticated.".into(),
            Fault::NoPermission { .. } => "Permission to perform this operation was denied.".into(),
            Fault::InvalidArgument { property, .. } => {
                format!("A specified parameter was not correct: {property}")
            }
            Fault::InvalidRequest { .. } | Fault::InvalidState { .. } => {
                "The request is not valid.".into()
            }
        }
    }

    /// The fault's own fields besides `_typeName` and `faultMessage`.
    fn fields(&self, m: &mut Map<String, Value>) {
        match self {
            Fault::NotAuthenticated { object } => {
                m.insert("object".into(), json!(object));
                m.insert("privilegeId".into(), json!("System.View"));
            }
            Fault::NoPermission { object, privilege } => {
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
            Fault::InvalidArgument { property, .. } => {
                m.insert("invalidProperty".into(), json!(property));
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
            Fault::InvalidLogin { .. }
            | Fault::InvalidLocale
            | Fault::NotFound { .. }
            | Fault::InvalidRequest { .. }
            | Fault::InvalidState { .. } => {}
        }
    }
}

impl ErrorAnswer for Fault {
    /// The fault object: `_typeName`, `faultMessage` (always present, possibly empty) and the
    /// fault's own fields. `faultCause` is unset, and VI/JSON omits unset properties.
    type Body = Value;

    fn status(&self) -> StatusCode {
        match self {
            Fault::InvalidRequest { status, .. } | Fault::SystemError { status, .. } => *status,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            Fault::InvalidLogin { retry_after_secs } => *retry_after_secs,
            Fault::SystemError { status, .. } if *status == StatusCode::SERVICE_UNAVAILABLE => {
                Some(1)
            }
            _ => None,
        }
    }

    /// The text of the fault's `LocalizableMessage`; empty when it carries none.
    fn message(&self) -> String {
        match self {
            Fault::NotAuthenticated { .. } => "The session is not authenticated.".into(),
            Fault::NoPermission { privilege, .. } => {
                format!("Permission to perform this operation was denied: {privilege}.")
            }
            Fault::InvalidLogin {
                retry_after_secs: Some(s),
            } => format!("Too many failed logins; retry in {s}s."),
            Fault::NotFound {
                session_id: Some(id),
            } => format!("Session {:?} is not a valid logged-on session.", echo(id)),
            Fault::InvalidArgument { message: text, .. }
            | Fault::InvalidRequest { message: text, .. }
            | Fault::InvalidState { message: text } => text.clone(),
            _ => String::new(),
        }
    }

    fn body(&self, text: String) -> Value {
        let mut m = Map::new();
        m.insert("_typeName".into(), json!(self.type_name()));
        m.insert("faultstring".into(), json!(self.faultstring(&text)));
        self.fields(&mut m);
        let messages = match self.message_key() {
            Some(key) => vec![message(key, text)],
            None => Vec::new(),
        };
        m.insert("faultMessage".into(), Value::Array(messages));
        Value::Object(m)
    }
}

/// vSphere's fault for a core error, by the class `api::status` gives it; the HTTP status
/// stays vSphere's own (500 for every method fault, 503 for an unavailable store).
impl From<CoreError> for Fault {
    fn from(e: CoreError) -> Self {
        // vSphere has no "ended" session: an ended one is not a valid logged-on session.
        if let CoreError::SessionEnded(_) = e {
            return Fault::NotFound { session_id: None };
        }
        match crate::status::of(&e) {
            StatusCode::UNAUTHORIZED if matches!(e, CoreError::Unauthenticated) => {
                Fault::not_authenticated()
            }
            StatusCode::UNAUTHORIZED => Fault::InvalidLogin {
                retry_after_secs: None,
            },
            // A login refused by backoff: vSphere's lockout answers InvalidLogin too.
            StatusCode::TOO_MANY_REQUESTS => Fault::InvalidLogin {
                retry_after_secs: render::core_retry_after(&e),
            },
            StatusCode::FORBIDDEN => Fault::NoPermission {
                object: MoRef::session_manager(),
                privilege: match &e {
                    CoreError::Forbidden(p) => p.as_str(),
                    _ => "System.View",
                },
            },
            StatusCode::NOT_FOUND => Fault::NotFound { session_id: None },
            StatusCode::CONFLICT => Fault::InvalidState {
                message: e.to_string(),
            },
            StatusCode::UNPROCESSABLE_ENTITY => Fault::InvalidArgument {
                property: match &e {
                    CoreError::Invalid { field, .. } => field,
                    _ => "",
                },
                message: e.to_string(),
            },
            // A request the method cannot use is a method fault, answered like every other.
            StatusCode::BAD_REQUEST => Fault::InvalidRequest {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                message: e.to_string(),
            },
            status => Fault::SystemError {
                status: if status == StatusCode::SERVICE_UNAVAILABLE {
                    status
                } else {
                    StatusCode::INTERNAL_SERVER_ERROR
                },
                reason: render::server_failure(&e, "vsphere")
                    .unwrap_or_else(|| "internal error".into()),
            },
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
        render::respond(&self)
    }
}

pub type VimResult<T> = Result<T, Fault>;

/// The SOAP encoding (`super::soap`) answers from this same table: the fault's wire type name
/// and its `faultstring`, exactly as the VI/JSON body has them.
impl Fault {
    pub(crate) fn wire_type_and_faultstring(&self) -> (&'static str, String) {
        (
            self.type_name(),
            self.faultstring(&ErrorAnswer::message(self)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessiond_core::{Privilege, StoreError};

    fn body_of(f: Fault) -> Value {
        f.body(f.message())
    }

    #[test]
    fn faults_carry_type_name_and_messages() {
        let b = body_of(Fault::from(CoreError::Forbidden(
            Privilege::SessionsTerminate,
        )));
        assert_eq!(b["_typeName"], "NoPermission");
        assert_eq!(b["privilegeId"], "Sessions.TerminateSession");
        assert_eq!(b["object"]["type"], "SessionManager");
        assert!(b.get("faultCause").is_none());
        let b = body_of(Fault::from(CoreError::InvalidCredentials));
        assert_eq!(
            b,
            json!({
                "_typeName": "InvalidLogin",
                "faultstring": "Cannot complete login due to an incorrect user name or password.",
                "faultMessage": []
            })
        );
        // A fault with a message prints that message.
        let b = body_of(Fault::not_found("abc"));
        assert_eq!(b["faultstring"], b["faultMessage"][0]["message"]);
    }

    #[test]
    fn core_errors_are_classified_through_api_status() {
        let cases: Vec<(CoreError, &str, u16, Option<u64>)> = vec![
            (CoreError::Unauthenticated, "NotAuthenticated", 500, None),
            (CoreError::InvalidCredentials, "InvalidLogin", 500, None),
            (
                CoreError::RateLimited {
                    retry_after_secs: 7,
                },
                "InvalidLogin",
                500,
                Some(7),
            ),
            (CoreError::NotFound("session"), "NotFound", 500, None),
            (CoreError::SessionEnded("terminated"), "NotFound", 500, None),
            (CoreError::ConfirmMismatch, "InvalidState", 500, None),
            (
                CoreError::invalid("locale", "x"),
                "InvalidArgument",
                500,
                None,
            ),
            (
                CoreError::BadRequest("x".into()),
                "InvalidRequest",
                500,
                None,
            ),
            (
                CoreError::Internal("secret".into()),
                "SystemError",
                500,
                None,
            ),
            (
                CoreError::Store(StoreError::Unavailable("down".into())),
                "SystemError",
                503,
                Some(1),
            ),
        ];
        for (e, type_name, status, retry) in cases {
            let f = Fault::from(e);
            assert_eq!(f.type_name(), type_name, "{f:?}");
            assert_eq!(f.status().as_u16(), status, "{f:?}");
            assert_eq!(f.retry_after(), retry, "{f:?}");
            assert!(!body_of(f).to_string().contains("secret"));
        }
        let b = body_of(Fault::from(CoreError::invalid("locale", "x")));
        assert_eq!(b["invalidProperty"], "locale");
    }

    #[test]
    fn echoed_ids_are_bounded() {
        let long = "x".repeat(10_000);
        let b = body_of(Fault::not_found(&long));
        let text = b["faultMessage"][0]["message"].as_str().unwrap_or("");
        assert!(text.len() < 300, "{text}");
    }
}
