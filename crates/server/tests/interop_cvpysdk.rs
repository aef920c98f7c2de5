//! The real Commvault Python SDK (PyPI `cvpysdk`, pinned in tests/interop/requirements.txt)
//! against the built `sessiond` binary over HTTPS: `Commcell()` checks the bare API root and
//! logs in with its own payload, a bad password fails the way cvpysdk reports it, its
//! RenewLoginToken works on a live token, the seed's DELETE Sessions XML sent with the
//! Commcell's token logs off two sessions of other cvpysdk logins, the logged-off Commcell's
//! next call fails after cvpysdk's own renewal attempts, `Commcell(host, authtoken=…)` learns
//! its user through WhoAmI, `GET Session?userId=` and `GET Sessions?userId=` (raw requests,
//! with and without `ONLY-ACTIVE-SESSIONS`) list exactly one user's sessions (two users with
//! sessions, one with a logged-off login), and `logout()` returns `User logged out` and
//! closes the login; the same token's second Logout is Commvault's 401.
//! The registry is checked through the native API; every HTTP call cvpysdk made is printed.
//!
//! The virtualenv comes from `scripts/test` (env `SESSIOND_VENV`, default
//! `$HOME/.cache/sessiond/venv`). Without it these tests fail, never skip.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::process::Command;

mod common;

use common::{venv_python, Native, Server, TestStore};

const PW: &str = "cvpysdk-interop-password";

impl Native {
    async fn register(&self, body: Value) -> String {
        let (s, v) = self.call(Method::POST, "/sessions", Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["session"]["id"].as_str().expect("id").to_string()
    }
}

/// The Python side. Every HTTP call cvpysdk (and the script's own `requests.delete`) makes
/// goes through `requests.Session.request`, which is wrapped to print it on stderr (method,
/// URL, status, headers without `Authtoken`, body with the password masked). The last stdout
/// line is a JSON summary for the Rust side to check.
const SCRIPT: &str = r#"
import json, re, sys
import requests
from cvpysdk.commcell import Commcell
from cvpysdk.exception import SDKException

port, admin_pw, user_pw = sys.argv[1], sys.argv[2], sys.argv[3]
host = '127.0.0.1:' + port

_orig = requests.Session.request
def _spy(self, method, url, **kw):
    r = _orig(self, method, url, **kw)
    hdrs = {k: v for k, v in (kw.get('headers') or {}).items() if k.lower() != 'authtoken'}
    body = kw.get('json') if kw.get('json') is not None else kw.get('data')
    if isinstance(body, dict) and 'password' in body:
        body = dict(body, password='<base64 password>')
    if isinstance(body, bytes):
        body = body.decode('utf-8', 'replace')
    # Tokens stay out of the output, wherever they appear.
    mask = lambda s: re.sub(r'QSDK [A-Za-z0-9._-]+', 'QSDK <token>', s)
    print(mask('CALL %s %s -> %s %s headers=%s body=%r response=%r' % (
        method, url, r.status_code, r.headers.get('Content-Type'), hdrs, body, r.text[:300])),
        file=sys.stderr)
    return r
requests.Session.request = _spy

def commcell(user, pw):
    # cvpysdk builds https://<webconsole_hostname>/commandcenter/api/ from the host:port;
    # force_https keeps it from falling back to http, verify_ssl=False accepts the
    # self-signed certificate.
    return Commcell(host, user, pw, force_https=True, verify_ssl=False)

out = {}
base = 'https://%s/commandcenter/api/' % host

# Raw calls with requests (through the spy too), headers as cvpysdk sends them.
def raw(method, path, token, **headers):
    h = {'Host': host, 'Accept': 'application/json', 'Content-type': 'application/json',
         'Authtoken': token}
    h.update(headers)
    return requests.request(method, base + path, headers=h, verify=False)

def whoami(token):
    r = raw('POST', 'WhoAmI', token)
    assert r.status_code == 200, r.text
    return r.json()['user']

# A wrong password: cvpysdk raises with errList[0].errLogMessage.
try:
    commcell('admin', 'not-the-password')
    out['bad_login'] = 'no error'
except SDKException as e:
    out['bad_login'] = str(e)

c = commcell('admin', admin_pw)
assert c.auth_token.startswith('QSDK '), 'token type'
out['admin_session'] = c.auth_token[5:].split('.')[0]

# RenewLoginToken on a live token: the same token back.
out['renewed_same'] = c._cvpysdk_object._renew_login_token(0) == c.auth_token

# Commvault sessions of other logins: two to log off, one to keep.
c1, c2, keep = commcell('u1', user_pw), commcell('u2', user_pw), commcell('u3', user_pw)
u1_id = whoami(c1.auth_token)['userId']

# GET Sessions through cvpysdk's own request helper (its headers, its token).
listed = c.request('GET', 'Sessions').json()['sessions']
by_user = {s['user']['userName']: s['sessionId'] for s in listed}
out['listed_users'] = sorted(by_user)
targets = [by_user['u1'], by_user['u2']]
out['targets'] = targets
out['keep'] = by_user['u3']

# Seed 004's sample request, byte for byte apart from the ids.
body = ('<?xml version="1.0" encoding="utf-8"?>\n'
        ' <Api_LogoffUsersRequest>\n'
        '   <sessions val="%s"/>\n'
        '   <sessions val="%s"/>\n'
        '</Api_LogoffUsersRequest >\n') % tuple(targets)
r = requests.delete(c._web_service + 'Sessions', data=body.encode('utf-8'), verify=False,
                    headers={'Host': host, 'Accept': 'application/xml',
                             'Authtoken': c.auth_token, 'Content-type': 'application/xml'})
out['logoff_status'] = r.status_code
out['logoff_body'] = r.text

# A logged-off Commcell: its next call is a 401, cvpysdk tries RenewLoginToken by itself,
# which cannot revive the session, and gives up.
try:
    c1.request('GET', 'Sessions')
    out['c1_after'] = 'no error'
except SDKException as e:
    out['c1_after'] = str(e)

# The kept session still works.
out['keep_lists'] = len(keep.request('GET', 'Sessions').json()['sessions'])

# A Commcell from an existing token: cvpysdk asks WhoAmI who it is.
ca = Commcell(host, authtoken=c.auth_token, force_https=True, verify_ssl=False)
out['token_commcell_user'] = ca.commcell_username
out['token_commcell_same_token'] = ca.auth_token == c.auth_token

# One user's sessions, as Commvault documents the call and cvpysdk's User.get_sessions()
# sends it (header ONLY-ACTIVE-SESSIONS), and through Sessions?userId=; raw requests with
# the admin's token. u4 has two logins, u3 one, u1 one logged off above.
d1, d2 = commcell('u4', user_pw), commcell('u4', user_pw)
out['u4_sessions'] = sorted(x.auth_token[5:].split('.')[0] for x in (d1, d2))
out['u3_session'] = keep.auth_token[5:].split('.')[0]

ids = {u: whoami(t)['userId'] for u, t in (('u3', keep.auth_token), ('u4', d1.auth_token))}
out['user_ids_differ'] = ids['u3'] != ids['u4']
listings = {}
for user, uid in ids.items():
    for path in ('Session?userId=%d' % uid, 'Sessions?userId=%d' % uid):
        for only_active in (True, False):
            extra = {'ONLY-ACTIVE-SESSIONS': 'true'} if only_active else {}
            r = raw('GET', path, c.auth_token, **extra)
            assert r.status_code == 200, (path, r.status_code, r.text)
            got = r.json()['sessions']
            listings['%s %s %s' % (user, path.split('?')[0], only_active)] = {
                'ids': sorted(s['sessionId'] for s in got),
                'user_ids': sorted({s['user']['userId'] == uid for s in got}),
                'names': sorted({s['user']['userName'] for s in got}),
            }
out['listings'] = listings
# u1's login was logged off above: listed with its logoutTime, unless only live ones are asked.
for only_active in (True, False):
    extra = {'ONLY-ACTIVE-SESSIONS': 'true'} if only_active else {}
    r = raw('GET', 'Session?userId=%d' % u1_id, c.auth_token, **extra)
    out['u1_only_active_%s' % only_active] = [
        [s['sessionId'], s['logoutTime'] > 0] for s in r.json()['sessions']]
r = raw('GET', 'Session?userId=abc', c.auth_token)
out['bad_user_id'] = [r.status_code, r.json()]

out['logout'] = c.logout()
# The same token again: Commvault's 401.
r = raw('POST', 'Logout', ca.auth_token)
out['second_logout'] = [r.status_code, r.json()]
print(json.dumps(out))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cvpysdk_logs_in_logs_off_sessions_and_logs_out_on_sqlite() {
    cvpysdk_logs_in_logs_off_sessions_and_logs_out(TestStore::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cvpysdk_logs_in_logs_off_sessions_and_logs_out_on_redis() {
    cvpysdk_logs_in_logs_off_sessions_and_logs_out(TestStore::redis()).await;
}

async fn cvpysdk_logs_in_logs_off_sessions_and_logs_out(store: TestStore) {
    // Fail at once, before any setup, when the client is missing.
    let python = venv_python("cvpysdk.commcell");
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_on(&dir.path().join("data"), PW, &store);
    let native = Native::login(&server, PW).await;

    let user_pw = "cvpysdk-user-password";
    for u in ["u1", "u2", "u3", "u4"] {
        let (s, v) = native
            .call(
                Method::POST,
                "/principals",
                Some(json!({"name": u, "password": user_pw, "role": "viewer"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    // Never touched: another tenant's commvault session and a non-commvault one.
    let (s, v) = native
        .call(Method::POST, "/tenants", Some(json!({"name": "acme"})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let foreign = native
        .register(json!({"service": "commvault", "tenant": "acme", "user": {"name": "u1"}}))
        .await;
    let smb = native
        .register(json!({"service": "smb", "user": {"name": "u1"}, "originator": "10.0.0.1"}))
        .await;

    let script = dir.path().join("cvpysdk_interop.py");
    std::fs::write(&script, SCRIPT).expect("write script");
    let out = Command::new(&python)
        .arg(&script)
        .args([&server.port.to_string(), PW, user_pw])
        // Keep cvpysdk's own config and cache lookups away from the user's files.
        .env("HOME", dir.path())
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    // What cvpysdk called, for the record.
    eprintln!("--- cvpysdk calls ---\n{stderr}--- summary ---\n{stdout}");
    assert!(
        out.status.success(),
        "the cvpysdk script failed ({}):\n{stderr}\n{stdout}",
        out.status
    );
    let summary: Value = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON summary: {stdout}"));

    // Commcell() checked the bare root (with its trailing slash) and logged in with its
    // own payload; the calls below are cvpysdk's, as printed.
    let calls: Vec<&str> = stderr.lines().filter(|l| l.starts_with("CALL ")).collect();
    let root = format!(
        "CALL GET https://127.0.0.1:{}/commandcenter/api/ -> 200",
        server.port
    );
    assert!(calls.iter().any(|c| c.starts_with(&root)), "{calls:#?}");
    assert!(
        calls
            .iter()
            .any(|c| c.contains("/commandcenter/api/Login -> 200")
                && c.contains("'mode': 4")
                && c.contains("'clientType': 30")),
        "{calls:#?}"
    );
    assert!(
        summary["bad_login"]
            .as_str()
            .is_some_and(|m| m.contains("Login failed: invalid username or password")),
        "{summary}"
    );
    assert_eq!(summary["renewed_same"], true, "{summary}");
    assert_eq!(summary["listed_users"], json!(["admin", "u1", "u2", "u3"]));
    assert_eq!(summary["logoff_status"], 200, "{summary}");
    assert_eq!(summary["logoff_body"], "<Api_LogoffUsersResponse />");
    // The logged-off Commcell's call was refused; cvpysdk tried RenewLoginToken itself.
    assert!(
        summary["c1_after"]
            .as_str()
            .is_some_and(|m| m != "no error"),
        "{summary}"
    );
    assert!(
        calls
            .iter()
            .any(|c| c.contains("/commandcenter/api/RenewLoginToken -> 401")),
        "{calls:#?}"
    );
    assert!(
        summary["keep_lists"].as_u64().is_some_and(|n| n >= 2),
        "{summary}"
    );
    assert!(
        calls
            .iter()
            .any(|c| c.contains("POST") && c.contains("/commandcenter/api/Logout -> 200")),
        "{calls:#?}"
    );

    // Commcell(host, authtoken=…) asked WhoAmI and knows its user.
    assert_eq!(summary["token_commcell_user"], "admin", "{summary}");
    assert_eq!(summary["token_commcell_same_token"], true, "{summary}");
    assert!(
        calls
            .iter()
            .any(|c| c.contains("POST") && c.contains("/commandcenter/api/WhoAmI -> 200")),
        "{calls:#?}"
    );
    // One user's sessions, on both paths, with and without ONLY-ACTIVE-SESSIONS: exactly
    // that user's, never the tenant's.
    assert_eq!(summary["user_ids_differ"], true, "{summary}");
    let mut u4 = summary["u4_sessions"].as_array().expect("u4").clone();
    u4.sort_by_key(|v| v.to_string());
    assert_eq!(u4.len(), 2);
    for (user, want) in [("u4", json!(u4)), ("u3", json!([summary["u3_session"]]))] {
        for path in ["Session", "Sessions"] {
            for only_active in ["True", "False"] {
                let key = format!("{user} {path} {only_active}");
                let got = &summary["listings"][&key];
                assert_eq!(got["ids"], want, "{key}: {summary}");
                assert_eq!(got["user_ids"], json!([true]), "{key}: {got}");
                assert_eq!(got["names"], json!([user]), "{key}: {got}");
            }
        }
    }
    // u1's logged-off login: listed with its logoutTime unless only live ones are asked.
    assert_eq!(summary["u1_only_active_True"], json!([]), "{summary}");
    assert_eq!(
        summary["u1_only_active_False"],
        json!([[summary["targets"][0], true]]),
        "{summary}"
    );
    assert_eq!(summary["bad_user_id"][0], 400, "{summary}");
    assert_eq!(summary["bad_user_id"][1]["errorCode"], 2, "{summary}");
    // logout() returns the server's text; the same token again is Commvault's 401.
    assert_eq!(summary["logout"], "User logged out", "{summary}");
    assert_eq!(
        summary["second_logout"],
        json!([401, {"errorMessage": "Access denied", "errorCode": 5}]),
        "{summary}"
    );

    // The registry agrees: the targets terminated by admin, the Commcell's own login closed
    // by its logout, everything else untouched.
    for t in summary["targets"].as_array().expect("targets") {
        let s = native.session(t.as_str().expect("id")).await;
        assert_eq!(
            (&s["state"], &s["ended_by"], &s["service"]),
            (&json!("terminated"), &json!("admin"), &json!("commvault")),
            "{s}"
        );
    }
    let own = native
        .session(summary["admin_session"].as_str().expect("admin_session"))
        .await;
    assert_eq!(
        (&own["state"], &own["service"]),
        (&json!("closed"), &json!("commvault"))
    );
    let keep = native
        .session(summary["keep"].as_str().expect("keep"))
        .await;
    assert_eq!(keep["state"], "active", "{keep}");
    for id in [&foreign, &smb] {
        assert_eq!(native.session(id).await["state"], "active");
    }
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
}
