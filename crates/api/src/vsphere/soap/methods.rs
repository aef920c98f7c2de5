//! The method table of `POST /sdk`: which calls each managed object answers, each one a
//! translation of the request's parameters to an `ops` call and of its result to XML.

use super::super::dto::{MoRef, UserSession};
use super::super::error::Fault;
use super::super::ops;
use super::super::route::{Managed, ServiceInstance, SessionManager};
use super::envelope::{self, children, required, text_of, Call, ObjRef};
use super::faults::SoapFault;
use super::fetch;
use super::objects::{self, date_time, service_content_fields, user_session};
use super::session::{set_cookie, Ctx};
use crate::client_addr::Origin;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

/// The objects ServiceContent names, the only `_this` values accepted. Folder and
/// PropertyCollector are listed because the schema requires them; the collector answers
/// RetrieveProperties(Ex), the folder nothing.
const OBJECTS: &[(&str, &str)] = &[
    (ServiceInstance::TYPE, ServiceInstance::MO_ID),
    (SessionManager::TYPE, SessionManager::MO_ID),
    ("Folder", "group-d1"),
    ("PropertyCollector", "propertyCollector"),
];

/// A successful answer: the method's name, its `returnval`s, and the Login cookie.
pub struct Answer {
    method: &'static str,
    inner: String,
    cookie: Option<HeaderValue>,
}

impl Answer {
    pub fn new(method: &'static str, inner: String) -> Answer {
        Answer {
            method,
            inner,
            cookie: None,
        }
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let mut r = envelope::answer(self.method, &self.inner);
        if let Some(c) = self.cookie {
            r.headers_mut().insert(header::SET_COOKIE, c);
        }
        r
    }
}

/// `obj` when it is one this server has; otherwise ManagedObjectNotFound, as vCenter says.
pub fn known(obj: &ObjRef) -> Result<(), SoapFault> {
    if OBJECTS.contains(&(obj.kind.as_str(), obj.id.as_str())) {
        Ok(())
    } else {
        Err(Fault::ManagedObjectNotFound {
            obj: MoRef::new(&obj.kind, &obj.id),
        }
        .into())
    }
}

/// Runs one call. Every path ends in an answer or a fault; nothing outside the table runs.
pub async fn dispatch(ctx: &Ctx, call: &Call) -> Result<Answer, SoapFault> {
    let obj = call
        .this
        .clone()
        .ok_or_else(|| SoapFault::invalid_request(format!("{} has no _this", call.method)))?;
    known(&obj)?;
    match (obj.kind.as_str(), call.method.as_str()) {
        (_, "Fetch") => fetch::fetch(ctx, &obj, call).await,
        ("ServiceInstance", "RetrieveServiceContent") => Ok(content()),
        ("ServiceInstance", "CurrentTime") => Ok(current_time(ctx)),
        ("SessionManager", "Login") => login(ctx, call).await,
        ("SessionManager", "Logout") => logout(ctx).await,
        ("SessionManager", "SessionIsActive") => session_is_active(ctx, call).await,
        ("SessionManager", "TerminateSession") => terminate(ctx, call).await,
        ("PropertyCollector", "RetrievePropertiesEx") => fetch::retrieve(ctx, call, true).await,
        ("PropertyCollector", "RetrieveProperties") => fetch::retrieve(ctx, call, false).await,
        _ => Err(Fault::MethodNotFound {
            receiver: MoRef::new(&obj.kind, &obj.id),
            method: call.method.clone(),
        }
        .into()),
    }
}

/// RetrieveServiceContent: anonymous, also with a stale cookie.
fn content() -> Answer {
    let mut inner = String::from("<returnval>");
    service_content_fields(&mut inner, &objects::content());
    inner.push_str("</returnval>");
    Answer::new("RetrieveServiceContent", inner)
}

fn current_time(ctx: &Ctx) -> Answer {
    let now = date_time(ctx.st.registry.clock().now());
    Answer::new("CurrentTime", format!("<returnval>{now}</returnval>"))
}

/// Login: a stale cookie is ignored; the answer sets the one `Set-Cookie` of this dialect.
async fn login(ctx: &Ctx, call: &Call) -> Result<Answer, SoapFault> {
    let user = required(call, "userName")?;
    let password = required(call, "password")?;
    let locale = text_of(&call.params, "locale").map(str::to_string);
    let (session, token) = ops::login(&ctx.st, user, password, locale, origin(ctx)).await?;
    let mut inner = String::from("<returnval>");
    user_session(&mut inner, &UserSession::from_session(&session));
    inner.push_str("</returnval>");
    let mut a = Answer::new("Login", inner);
    a.cookie = Some(set_cookie(&token)?);
    Ok(a)
}

fn origin(ctx: &Ctx) -> Origin {
    Origin {
        ip: ctx.origin.ip.clone(),
        user_agent: ctx.origin.user_agent.clone(),
    }
}

async fn logout(ctx: &Ctx) -> Result<Answer, SoapFault> {
    let caller = ctx.caller().await?;
    ops::logout(&ctx.st, &caller).await?;
    Ok(Answer::new("Logout", String::new()))
}

async fn session_is_active(ctx: &Ctx, call: &Call) -> Result<Answer, SoapFault> {
    // Authentication first, as the JSON handler's extractor order has it.
    let caller = ctx.caller().await?;
    let id = required(call, "sessionID")?;
    let user = required(call, "userName")?;
    let active = ops::session_is_active(&ctx.st, &caller, id.trim(), user).await?;
    Ok(Answer::new(
        "SessionIsActive",
        format!("<returnval>{active}</returnval>"),
    ))
}

async fn terminate(ctx: &Ctx, call: &Call) -> Result<Answer, SoapFault> {
    let caller = ctx.caller().await?;
    let ids: Vec<String> = children(&call.params, "sessionId")
        .map(|e| e.text.trim().to_string())
        .collect();
    ops::terminate(&ctx.st, &caller, &ids).await?;
    Ok(Answer::new("TerminateSession", String::new()))
}
