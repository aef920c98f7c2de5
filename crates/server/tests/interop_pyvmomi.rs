//! The real vSphere Python SDK (PyPI `pyvmomi`, pinned in tests/interop/requirements.txt)
//! against the built `sessiond` binary over HTTPS at `/sdk` (issue 9): `SmartConnect`
//! negotiates the release and logs in, `content.sessionManager.currentSession` and
//! `.sessionList` are read (pyvmomi's private `Fetch`), SessionIsActive answers true and
//! false, TerminateSession ends other pyvmomi logins sequentially and raises the vSphere
//! faults pyvmomi knows (NotFound, InvalidArgument), a viewer's sessionList is NoPermission,
//! a wrong password InvalidLogin, and `Disconnect` closes the login. The registry is checked
//! through the native API; every HTTP exchange pyvmomi made is printed.
//!
//! The virtualenv comes from `scripts/test` (env `SESSIOND_VENV`, default
//! `$HOME/.cache/sessiond/venv`). Without it these tests fail, never skip.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::process::Command;

mod common;

use common::{venv_python, Native, Server, TestStore};

const PW: &str = "pyvmomi-interop-password";
const USER_PW: &str = "pyvmomi-user-password";

/// The Python side. `http.client` is wrapped to print each exchange on stderr (method,
/// path, SOAPAction, the called method, status), with cookies and passwords masked. The last
/// stdout line is a JSON summary for the Rust side to check.
const SCRIPT: &str = r#"
import http.client, json, re, sys
from pyVim.connect import SmartConnect, Disconnect
from pyVmomi import vim, vmodl

port, admin_pw, user_pw = int(sys.argv[1]), sys.argv[2], sys.argv[3]

_req, _resp = http.client.HTTPConnection.request, http.client.HTTPConnection.getresponse
def _spy_req(self, method, url, body=None, headers={}, **kw):
    text = body.decode('utf-8', 'replace') if isinstance(body, bytes) else (body or '')
    m = re.search(r'<soapenv:Body><(\w+)', text)
    self._spy = '%s %s SOAPAction=%s call=%s' % (method, url, headers.get('SOAPAction'), m.group(1) if m else '-')
    return _req(self, method, url, body, headers, **kw)
def _spy_resp(self):
    r = _resp(self)
    print('CALL %s -> %s set-cookie=%s encoding=%s' % (getattr(self, '_spy', '?'), r.status,
          'yes' if r.getheader('Set-Cookie') else 'no', r.getheader('Content-Encoding')), file=sys.stderr)
    return r
http.client.HTTPConnection.request = _spy_req
http.client.HTTPConnection.getresponse = _spy_resp

def connect(user, pw):
    return SmartConnect(host='127.0.0.1', port=port, user=user, pwd=pw,
                        disableSslCertValidation=True)

def raised(f):
    try:
        f()
        return 'no error'
    except vmodl.MethodFault as e:
        print('FAULT %s: %s' % (type(e).__name__, e.msg), file=sys.stderr)
        return e._wsdlName

out = {}
si = connect('admin', admin_pw)
sm = si.content.sessionManager
me = sm.currentSession
out['own'] = me.key
out['own_user'] = me.userName
out['own_agent'] = me.userAgent
out['cookie_shape'] = bool(re.match(r'^vmware_soap_session="[A-Za-z0-9._-]+"; Path=/', si._stub.cookie))

# Other pyvmomi logins: two to end together, two around an unknown id.
others = {u: connect(u, user_pw) for u in ['a', 'b', 'c', 'd']}
keys = {u: s.content.sessionManager.currentSession.key for u, s in others.items()}
out['keys'] = keys
listed = sm.sessionList
out['listed'] = sorted(s.userName for s in listed)

out['active_true'] = sm.SessionIsActive(keys['a'], 'a')
out['active_wrong_user'] = sm.SessionIsActive(keys['a'], 'b')
out['active_unknown'] = sm.SessionIsActive('00000000000000000000000001', 'a')

sm.TerminateSession([keys['a'], keys['b']])
out['a_after'] = str(others['a'].content.sessionManager.currentSession)
out['a_list_after'] = raised(lambda: others['a'].content.sessionManager.sessionList)

unknown = '00000000000000000000000002'
try:
    sm.TerminateSession([keys['c'], unknown, keys['d']])
    out['cud'] = 'no error'
except vim.fault.NotFound as e:
    out['cud'] = 'vim.fault.NotFound'
    out['cud_msg'] = e.msg
try:
    sm.TerminateSession([me.key])
    out['own_terminate'] = 'no error'
except vmodl.fault.InvalidArgument as e:
    out['own_terminate'] = 'vmodl.fault.InvalidArgument'
    out['own_terminate_prop'] = e.invalidProperty

viewer = connect('viewer', user_pw)
vsm = viewer.content.sessionManager
try:
    vsm.sessionList
    out['viewer_list'] = 'no error'
except vim.fault.NotAuthenticated:
    out['viewer_list'] = 'vim.fault.NotAuthenticated'
except vim.fault.NoPermission as e:
    out['viewer_list'] = 'vim.fault.NoPermission'
    out['viewer_priv'] = e.privilegeId
out['viewer_session'] = vsm.currentSession.key

# The PropertyCollector puts the missing privilege in missingSet instead of raising.
pc = viewer.content.propertyCollector
spec = vmodl.query.PropertyCollector.FilterSpec(
    propSet=[vmodl.query.PropertyCollector.PropertySpec(type=vim.SessionManager, pathSet=['currentSession', 'sessionList'])],
    objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=vsm)])
res = pc.RetrievePropertiesEx([spec], vmodl.query.PropertyCollector.RetrieveOptions())
obj = res.objects[0]
out['pc_props'] = [p.name for p in obj.propSet]
out['pc_missing'] = [(m.path, type(m.fault).__name__) for m in obj.missingSet]

try:
    connect('admin', 'not-the-password')
    out['bad_login'] = 'no error'
except vim.fault.InvalidLogin as e:
    out['bad_login'] = 'vim.fault.InvalidLogin'

# Another process's way in: the bare token from the cookie, as tools pass it around.
token = si._stub.cookie.split('"')[1]
again = SmartConnect(host='127.0.0.1', port=port, sessionId=token, disableSslCertValidation=True)
out['reused_key'] = again.content.sessionManager.currentSession.key

Disconnect(si)
print(json.dumps(out))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyvmomi_connects_reads_terminates_and_disconnects_on_sqlite() {
    pyvmomi_connects_reads_terminates_and_disconnects(TestStore::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyvmomi_connects_reads_terminates_and_disconnects_on_redis() {
    pyvmomi_connects_reads_terminates_and_disconnects(TestStore::redis()).await;
}

async fn principal(native: &Native, name: &str, role: &str) {
    let (s, v) = native
        .call(
            Method::POST,
            "/principals",
            Some(json!({"name": name, "password": USER_PW, "role": role})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

/// Runs the script; returns (the printed exchanges, the JSON summary).
fn run_script(dir: &std::path::Path, port: u16) -> (String, Value) {
    let python = venv_python("pyVim.connect");
    let script = dir.join("pyvmomi_interop.py");
    std::fs::write(&script, SCRIPT).expect("write script");
    let out = Command::new(&python)
        .arg(&script)
        .args([&port.to_string(), PW, USER_PW])
        .env("HOME", dir)
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    eprintln!("--- pyvmomi calls ---\n{stderr}--- summary ---\n{stdout}");
    assert!(
        out.status.success(),
        "the pyvmomi script failed ({}):\n{stderr}\n{stdout}",
        out.status
    );
    let summary = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON summary: {stdout}"));
    (stderr, summary)
}

async fn pyvmomi_connects_reads_terminates_and_disconnects(store: TestStore) {
    // Fail at once, before any setup, when the client is missing.
    venv_python("pyVim.connect");
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_on(&dir.path().join("data"), PW, &store);
    let native = Native::login(&server, PW).await;
    for u in ["a", "b", "c", "d"] {
        principal(&native, u, "viewer").await;
    }
    principal(&native, "viewer", "viewer").await;

    let (calls, s) = run_script(dir.path(), server.port);

    // SmartConnect negotiated from the versions document and logged in over SOAP.
    let calls: Vec<&str> = calls.lines().filter(|l| l.starts_with("CALL ")).collect();
    for expected in [
        "CALL GET /sdk/vimServiceVersions.xml",
        "CALL POST /sdk SOAPAction=\"urn:vim25/8.0.3.0\" call=RetrieveServiceContent -> 200",
        "CALL POST /sdk SOAPAction=\"urn:vim25/8.0.3.0\" call=Login -> 200 set-cookie=yes",
        "call=Fetch -> 200",
        "call=TerminateSession -> 500",
        "call=Logout -> 200",
    ] {
        assert!(
            calls.iter().any(|c| c.contains(expected)),
            "{expected}: {calls:#?}"
        );
    }
    assert!(calls.iter().all(|c| !c.contains("deflate")), "{calls:#?}");
    assert!(
        calls
            .iter()
            .all(|c| c.ends_with("-> 200 set-cookie=no encoding=None")
                || c.contains("-> 500 set-cookie=no")
                || c.contains("call=Login -> 200 set-cookie=yes")),
        "only 200 and 500, one Set-Cookie per Login: {calls:#?}"
    );

    assert_eq!(s["own_user"], "admin", "{s}");
    assert!(
        s["own_agent"]
            .as_str()
            .is_some_and(|a| a.starts_with("pyvmomi ")),
        "{s}"
    );
    assert_eq!(s["cookie_shape"], true, "{s}");
    assert_eq!(s["listed"], json!(["a", "admin", "b", "c", "d"]), "{s}");
    assert_eq!(
        (
            &s["active_true"],
            &s["active_wrong_user"],
            &s["active_unknown"]
        ),
        (&json!(true), &json!(false), &json!(false)),
        "{s}"
    );
    // A terminated login reads an unset currentSession and is NotAuthenticated elsewhere.
    assert_eq!(s["a_after"], "None", "{s}");
    assert_eq!(s["a_list_after"], "NotAuthenticated", "{s}");
    assert_eq!(s["cud"], "vim.fault.NotFound", "{s}");
    assert!(
        s["cud_msg"]
            .as_str()
            .is_some_and(|m| m.contains("00000000000000000000000002")),
        "{s}"
    );
    assert_eq!(s["own_terminate"], "vmodl.fault.InvalidArgument", "{s}");
    assert_eq!(s["own_terminate_prop"], "sessionId", "{s}");
    assert_eq!(s["viewer_list"], "vim.fault.NoPermission", "{s}");
    assert_eq!(s["viewer_priv"], "Sessions.TerminateSession", "{s}");
    assert_eq!(s["pc_props"], json!(["currentSession"]), "{s}");
    assert_eq!(
        s["pc_missing"],
        json!([["sessionList", "vim.fault.NoPermission"]]),
        "{s}"
    );
    assert_eq!(s["bad_login"], "vim.fault.InvalidLogin", "{s}");
    assert_eq!(
        s["reused_key"], s["own"],
        "SmartConnect(sessionId=…) is the same login"
    );

    // The registry agrees.
    let key = |u: &str| s["keys"][u].as_str().expect("key").to_string();
    for u in ["a", "b", "c"] {
        let v = native.session(&key(u)).await;
        assert_eq!(
            (&v["state"], &v["ended_by"], &v["service"]),
            (&json!("terminated"), &json!("admin"), &json!("vsphere")),
            "{u}: {v}"
        );
    }
    assert_eq!(native.session(&key("d")).await["state"], "active");
    let viewer = native
        .session(s["viewer_session"].as_str().expect("viewer"))
        .await;
    assert_eq!(viewer["state"], "active");
    let own = native.session(s["own"].as_str().expect("own")).await;
    assert_eq!(
        (&own["state"], &own["service"]),
        (&json!("closed"), &json!("vsphere")),
        "{own}"
    );
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
}
