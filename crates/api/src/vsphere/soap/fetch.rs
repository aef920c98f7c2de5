//! Property reads: the private `Fetch` method pyvmomi uses for every property access
//! (`si.content`, `sm.currentSession`, `sm.sessionList`) and the PropertyCollector's
//! `RetrieveProperties(Ex)`, both over the same property table.

use super::super::dto::{ServiceContent, UserSession};
use super::super::error::Fault;
use super::super::ops;
use super::envelope::{children, moref_el, required, text_el, text_of, Call, ObjRef};
use super::faults::{self, SoapFault};
use super::methods::{known, Answer};
use super::objects::{self, date_time, service_content_fields, user_session};
use super::session::Ctx;
use crate::commvault::xml::Element;
use sessiond_core::Timestamp;

/// The properties this server has, by managed type (PropertyCollector `all=true` reads these).
fn properties_of(kind: &str) -> &'static [&'static str] {
    match kind {
        "ServiceInstance" => &["content", "serverClock"],
        "SessionManager" => &["currentSession", "sessionList"],
        _ => &[],
    }
}

/// A property's value; `Session(None)` is unset.
enum Value {
    Content(Box<ServiceContent>),
    Time(Timestamp),
    Session(Option<UserSession>),
    Sessions(Vec<UserSession>),
}

/// Reads property `name` of `obj` (already known to exist) for this call's caller.
async fn read(ctx: &Ctx, obj: &ObjRef, name: &str) -> Result<Value, SoapFault> {
    match (obj.kind.as_str(), name) {
        ("ServiceInstance", "content") => Ok(Value::Content(Box::new(objects::content()))),
        ("ServiceInstance", "serverClock") => Ok(Value::Time(ctx.st.registry.clock().now())),
        ("SessionManager", "currentSession") => {
            let s = ctx.maybe_session().await?;
            Ok(Value::Session(s.as_ref().map(UserSession::from_session)))
        }
        ("SessionManager", "sessionList") => {
            let caller = ctx.caller().await?;
            let list = ops::session_list(&ctx.st, &caller).await?;
            Ok(Value::Sessions(
                list.iter().map(UserSession::from_session).collect(),
            ))
        }
        _ => Err(SoapFault::InvalidProperty(name.to_string())),
    }
}

/// `<{el} xsi:type="T">…</{el}>` for a value; `None` when the value is unset. `xsi:type` is
/// required in the PropertyCollector's anyType `val` and harmless in `Fetch`.
fn write(el: &str, v: &Value) -> Option<String> {
    let mut out = String::new();
    match v {
        Value::Content(c) => {
            out.push_str(&format!("<{el} xsi:type=\"ServiceContent\">"));
            service_content_fields(&mut out, c);
        }
        Value::Time(t) => {
            out.push_str(&format!(
                "<{el} xsi:type=\"xsd:dateTime\">{}",
                date_time(*t)
            ));
        }
        Value::Session(None) => return None,
        Value::Session(Some(s)) => {
            out.push_str(&format!("<{el} xsi:type=\"UserSession\">"));
            user_session(&mut out, s);
        }
        Value::Sessions(list) => {
            out.push_str(&format!("<{el} xsi:type=\"ArrayOfUserSession\">"));
            for s in list {
                out.push_str("<UserSession>");
                user_session(&mut out, s);
                out.push_str("</UserSession>");
            }
        }
    }
    out.push_str(&format!("</{el}>"));
    Some(out)
}

/// `Fetch(_this, prop)`: one `returnval`, or an empty answer for an unset value.
pub async fn fetch(ctx: &Ctx, obj: &ObjRef, call: &Call) -> Result<Answer, SoapFault> {
    let prop = required(call, "prop")?.trim().to_string();
    let v = read(ctx, obj, &prop).await?;
    let inner = write("returnval", &v).unwrap_or_default();
    Ok(Answer::new("Fetch", inner))
}

/// One `propSet` of a PropertySpec: a type and the paths wanted of it.
struct PropSpec {
    kind: String,
    paths: Vec<String>,
}

fn prop_specs(spec: &Element) -> Vec<PropSpec> {
    children(spec, "propSet")
        .map(|p| {
            let kind = text_of(p, "type").unwrap_or_default().trim().to_string();
            let all = text_of(p, "all").is_some_and(|a| matches!(a.trim(), "true" | "1"));
            let mut paths: Vec<String> = children(p, "pathSet")
                .map(|e| e.text.trim().to_string())
                .collect();
            if all {
                paths.extend(properties_of(&kind).iter().map(|s| s.to_string()));
            }
            PropSpec { kind, paths }
        })
        .collect()
}

/// A missing privilege is reported in `missingSet`, not raised (vSphere's behaviour).
fn missing(path: &str, f: &Fault) -> String {
    let (kind, message) = f.wire_type_and_faultstring();
    let mut out = String::from("<missingSet>");
    text_el(&mut out, "path", path);
    out.push_str(&format!(
        "<fault><fault xsi:type=\"{kind}\">{}</fault>",
        faults::fields(f)
    ));
    text_el(&mut out, "localizedMessage", &message);
    out.push_str("</fault></missingSet>");
    out
}

/// The paths wanted of `obj`'s type, each once; `None` when no propSet names its type.
fn wanted<'a>(obj: &ObjRef, specs: &'a [PropSpec]) -> Option<Vec<&'a str>> {
    let mine: Vec<&PropSpec> = specs.iter().filter(|s| s.kind == obj.kind).collect();
    if mine.is_empty() {
        return None;
    }
    let mut paths: Vec<&str> = Vec::new();
    for p in mine.iter().flat_map(|s| s.paths.iter()) {
        if !paths.contains(&p.as_str()) {
            paths.push(p);
        }
    }
    Some(paths)
}

/// One ObjectContent: `obj`, a `propSet` per set value (unset ones are left out) and a
/// `missingSet` per property the caller may not read.
async fn object_content(
    ctx: &Ctx,
    obj: &ObjRef,
    specs: &[PropSpec],
) -> Result<Option<String>, SoapFault> {
    let Some(paths) = wanted(obj, specs) else {
        return Ok(None);
    };
    let (mut props, mut missed) = (String::new(), String::new());
    for path in paths {
        match read(ctx, obj, path).await {
            Ok(v) => {
                if let Some(val) = write("val", &v) {
                    props.push_str("<propSet>");
                    text_el(&mut props, "name", path);
                    props.push_str(&val);
                    props.push_str("</propSet>");
                }
            }
            Err(SoapFault::Vim(
                f @ (Fault::NoPermission { .. } | Fault::NotAuthenticated { .. }),
            )) => missed.push_str(&missing(path, &f)),
            Err(e) => return Err(e),
        }
    }
    let mut out = String::new();
    moref_el(&mut out, "obj", &obj.kind, &obj.id);
    Ok(Some(format!("{out}{props}{missed}")))
}

/// `RetrieveProperties` (one `returnval` per ObjectContent) and `RetrievePropertiesEx` (one
/// RetrieveResult holding `objects`). Both need a session; traversal specs are not followed.
pub async fn retrieve(ctx: &Ctx, call: &Call, ex: bool) -> Result<Answer, SoapFault> {
    ctx.caller().await?;
    let mut contents = Vec::new();
    for spec in children(&call.params, "specSet") {
        let specs = prop_specs(spec);
        for os in children(spec, "objectSet") {
            let obj = children(os, "obj")
                .next()
                .map(ObjRef::of)
                .ok_or_else(|| SoapFault::invalid_request("objectSet without obj".into()))?;
            known(&obj)?;
            if let Some(c) = object_content(ctx, &obj, &specs).await? {
                contents.push(c);
            }
        }
    }
    let method = if ex {
        "RetrievePropertiesEx"
    } else {
        "RetrieveProperties"
    };
    let inner = match (ex, contents.is_empty()) {
        (_, true) => String::new(),
        (true, false) => {
            let objs: String = contents
                .iter()
                .map(|c| format!("<objects>{c}</objects>"))
                .collect();
            format!("<returnval>{objs}</returnval>")
        }
        (false, false) => contents
            .iter()
            .map(|c| format!("<returnval>{c}</returnval>"))
            .collect(),
    };
    Ok(Answer::new(method, inner))
}
