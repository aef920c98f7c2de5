//! The real Huawei Cloud Python SDK (`huaweicloudsdkdds` + `huaweicloudsdkcore`, pinned in
//! tests/interop/requirements.txt) against the built `sessiond` binary over HTTPS: an
//! operator's access key signs `DdsClient.list_sessions` (paging and filters) and
//! `delete_session` exactly as the SDK does, and the registry is checked through the native
//! API afterwards: exactly the killed sessions are terminated. A wrong SK and an idle session
//! come back as the SDK's `ClientRequestException` with DDS's codes. The same credentials
//! without a project id make the SDK look the project up through IAM
//! (`GET /v3/projects?name=REGION`, with the IAM endpoint pointed at sessiond), then list and
//! kill; a foreign project is 400 `DBS.200010`, an unknown node 404 `DBS.200013`; and every
//! exception the SDK raises carries the answer's `X-Request-Id` as its `request_id`.
//!
//! The virtualenv comes from `scripts/test` (env `SESSIOND_VENV`, default
//! `$HOME/.cache/sessiond/venv`). Without it these tests fail, never skip.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sessiond_core::Timestamp;
use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, SystemTime};

mod common;

use common::{venv_python, Native, Server, TestStore};

const PW: &str = "dds-interop-password";
/// A tenant named like a cloud project id (32 hex digits), as the SDK's path carries it.
const PROJECT: &str = "619d3e78f61b4be68bc5aa0b59edcf7b";
const NODE: &str = "520c58ba00a3497e97ce0b9604874dd6no02";
const OTHER_NODE: &str = "520c58ba00a3497e97ce0b9604874dd6no03";

impl Native {
    async fn ok(&self, m: Method, path: &str, body: Value, want: StatusCode) -> Value {
        let (s, v) = self.call(m, path, Some(body)).await;
        assert_eq!(s, want, "{path}: {v}");
        v
    }

    /// A mongodb session in the project; `running_for` gives it an operation that started
    /// that long ago (real time: the binary runs on the system clock).
    async fn mongo(&self, node: &str, user: &str, running_for: Option<Duration>) -> String {
        let mut body = json!({"service": "mongodb", "tenant": PROJECT, "node_id": node,
            "user": {"name": user}, "originator": "10.1.2.3:52714",
            "server_address": "192.168.0.10:8635"});
        if let Some(d) = running_for {
            let started = Timestamp::from_system_time(SystemTime::now()).minus(d);
            body["activity"] = json!({"operation": "query shop.orders", "type": "query",
                "namespace": "shop.orders", "db": "shop", "plan_summary": "COLLSCAN",
                "description": "conn7", "started_at": started.to_rfc3339()});
        }
        let v = self
            .ok(Method::POST, "/sessions", body, StatusCode::CREATED)
            .await;
        v["session"]["id"].as_str().expect("id").to_string()
    }
}

/// Drives the SDK: every call's outcome (the response as a dict, or the exception's status
/// and codes) is printed as one JSON object.
const SDK_SCRIPT: &str = r#"
import json, os, sys, warnings
warnings.filterwarnings("ignore")
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.region.region import Region
from huaweicloudsdkdds.v3 import (DdsClient, ListSessionsRequest, DeleteSessionRequest,
                                  DeleteSessionRequestBody)

env = os.environ
def config():
    c = HttpConfig.get_default_config()
    c.ignore_ssl_verification = True
    return c

def client(sk, project=env["DDS_PROJECT"]):
    return (DdsClient.new_builder()
            .with_http_config(config())
            .with_credentials(BasicCredentials(env["DDS_AK"], sk, project))
            .with_endpoint(env["DDS_ENDPOINT"])
            .build())

def client_without_project():
    # No project id: at build() the SDK asks IAM for the region's project
    # (GET /v3/projects?name=<region id>, signed), here at sessiond.
    creds = BasicCredentials(env["DDS_AK"], env["DDS_SK"]).with_iam_endpoint(env["DDS_ENDPOINT"])
    c = (DdsClient.new_builder()
         .with_http_config(config())
         .with_credentials(creds)
         .with_region(Region(env["DDS_REGION"], env["DDS_ENDPOINT"]))
         .build())
    return c, creds.project_id

def run(fn):
    try:
        r = fn()
        return {"status": r.status_code, "body": r.to_dict()}
    except exceptions.ServiceResponseException as e:
        # ClientRequestException (4xx) and ServerResponseException (5xx) alike.
        return {"status": e.status_code, "error_code": e.error_code, "error_msg": e.error_msg,
                "request_id": e.request_id, "exception": type(e).__name__}

good = client(env["DDS_SK"])
node = env["DDS_NODE"]
out = {}
out["page1"] = run(lambda: good.list_sessions(ListSessionsRequest(node_id=node, offset=0, limit=3)))
out["page2"] = run(lambda: good.list_sessions(ListSessionsRequest(node_id=node, offset=3, limit=3)))
out["default_page"] = run(lambda: good.list_sessions(ListSessionsRequest(node_id=node)))
out["queries_over_30s"] = run(lambda: good.list_sessions(ListSessionsRequest(
    node_id=node, offset=0, limit=20, type="query", namespace="shop.orders",
    plan_summary="COLLSCAN", cost_time=30000000)))
out["kill"] = run(lambda: good.delete_session(DeleteSessionRequest(
    node_id=node, body=DeleteSessionRequestBody(sessions=env["DDS_KILL"].split(",")))))
out["kill_idle"] = run(lambda: good.delete_session(DeleteSessionRequest(
    node_id=node, body=DeleteSessionRequestBody(sessions=[env["DDS_IDLE"]]))))
out["kill_empty"] = run(lambda: good.delete_session(DeleteSessionRequest(
    node_id=node, body=DeleteSessionRequestBody(sessions=[]))))
out["after_kill"] = run(lambda: good.list_sessions(ListSessionsRequest(node_id=node, offset=0, limit=20)))
bad = client(env["DDS_SK"][::-1])
out["wrong_sk_list"] = run(lambda: bad.list_sessions(ListSessionsRequest(node_id=node, limit=20)))
out["wrong_sk_kill"] = run(lambda: bad.delete_session(DeleteSessionRequest(
    node_id=node, body=DeleteSessionRequestBody(sessions=[env["DDS_SURVIVOR"]]))))
other_node = env["DDS_OTHER_NODE"]
noproj, found = client_without_project()
out["iam_project_id"] = found
out["noproj_list"] = run(lambda: noproj.list_sessions(ListSessionsRequest(node_id=other_node, limit=20)))
out["noproj_kill"] = run(lambda: noproj.delete_session(DeleteSessionRequest(
    node_id=other_node, body=DeleteSessionRequestBody(sessions=[env["DDS_VIA_IAM"]]))))
out["noproj_after_kill"] = run(lambda: noproj.list_sessions(ListSessionsRequest(node_id=other_node)))
for name in ["0000000000000000000000000000dead", "default"]:
    foreign = client(env["DDS_SK"], name)
    out["foreign_list_" + name] = run(lambda: foreign.list_sessions(ListSessionsRequest(node_id=node)))
    out["foreign_kill_" + name] = run(lambda: foreign.delete_session(DeleteSessionRequest(
        node_id=node, body=DeleteSessionRequestBody(sessions=[env["DDS_SURVIVOR"]]))))
out["unknown_node_list"] = run(lambda: good.list_sessions(ListSessionsRequest(node_id="no-such-node")))
out["unknown_node_kill"] = run(lambda: noproj.delete_session(DeleteSessionRequest(
    node_id="no-such-node", body=DeleteSessionRequestBody(sessions=[env["DDS_SURVIVOR"]]))))
out["limit_too_large"] = run(lambda: good.list_sessions(ListSessionsRequest(node_id=node, limit=101)))
print(json.dumps(out))
"#;

fn ids(v: &Value) -> Vec<String> {
    v["body"]["sessions"]
        .as_array()
        .unwrap_or_else(|| panic!("sessions: {v}"))
        .iter()
        .map(|s| s["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huawei_sdk_lists_and_kills_node_sessions_with_aksk_signing_on_sqlite() {
    huawei_sdk_lists_and_kills_node_sessions_with_aksk_signing(TestStore::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huawei_sdk_lists_and_kills_node_sessions_with_aksk_signing_on_redis() {
    huawei_sdk_lists_and_kills_node_sessions_with_aksk_signing(TestStore::redis()).await;
}

async fn huawei_sdk_lists_and_kills_node_sessions_with_aksk_signing(store: TestStore) {
    // Fail at once, before any setup, when the client is missing.
    let py = venv_python("huaweicloudsdkdds.v3, huaweicloudsdkcore.signer.signer");
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_on(&dir.path().join("data"), PW, &store);
    let native = Native::login(&server, PW).await;

    native
        .ok(
            Method::POST,
            "/tenants",
            json!({"name": PROJECT}),
            StatusCode::CREATED,
        )
        .await;
    native
        .ok(
            Method::POST,
            "/principals",
            json!({"name": "dds-ops", "password": "dds-ops-password", "role": "operator",
                   "tenant": PROJECT}),
            StatusCode::CREATED,
        )
        .await;
    let key = native
        .ok(
            Method::POST,
            "/principals/dds-ops/access-keys",
            json!({}),
            StatusCode::CREATED,
        )
        .await;
    let ak = key["access_key"].as_str().expect("access_key").to_string();
    let sk = key["secret_key"].as_str().expect("secret_key").to_string();

    let sec = Duration::from_secs;
    let long1 = native.mongo(NODE, "alice", Some(sec(120))).await;
    let short = native.mongo(NODE, "bob", Some(sec(5))).await;
    let idle1 = native.mongo(NODE, "carol", None).await;
    let long2 = native.mongo(NODE, "dave", Some(sec(600))).await;
    let idle2 = native.mongo(NODE, "erin", None).await;
    let survivor = native.mongo(NODE, "frank", Some(sec(60))).await;
    let elsewhere = native.mongo(OTHER_NODE, "grace", Some(sec(600))).await;
    // Killed by the client that found its project through IAM.
    let via_iam = native.mongo(OTHER_NODE, "heidi", Some(sec(90))).await;
    let all_on_node = [&long1, &short, &idle1, &long2, &idle2, &survivor];
    let kill = [&long1, &long2];

    let out = Command::new(&py)
        .args(["-c", SDK_SCRIPT])
        .env("DDS_AK", &ak)
        .env("DDS_SK", &sk)
        .env("DDS_PROJECT", PROJECT)
        .env("DDS_ENDPOINT", &server.base)
        .env("DDS_NODE", NODE)
        .env("DDS_KILL", format!("{long1},{long2}"))
        .env("DDS_IDLE", &idle1)
        .env("DDS_SURVIVOR", &survivor)
        .env("DDS_OTHER_NODE", OTHER_NODE)
        .env("DDS_REGION", "eu-de")
        .env("DDS_VIA_IAM", &via_iam)
        .output()
        .expect("run the SDK");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the SDK script failed ({}):\nstdout: {stdout}\nstderr: {stderr}\nserver: {}",
        out.status,
        server.stderr()
    );
    let r: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("the SDK script printed no JSON ({e}): {stdout}\n{stderr}"));
    // Shown with --no-capture: what the SDK really got back.
    eprintln!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());

    // Paging by offset: every session of the node once, in registration order.
    assert_eq!(r["page1"]["status"], 200, "{r}");
    assert_eq!(r["page1"]["body"]["total_count"], 6, "{r}");
    let mut walked = ids(&r["page1"]);
    walked.extend(ids(&r["page2"]));
    let want: Vec<String> = all_on_node.iter().map(|s| s.to_string()).collect();
    assert_eq!(walked, want);
    assert_eq!(ids(&r["default_page"]), want);
    // The SDK's model carries every field; active is a boolean, cost_time a string of µs.
    let first = &r["page1"]["body"]["sessions"][0];
    assert_eq!(first["active"], true, "{first}");
    assert_eq!(first["user"], "alice");
    assert_eq!(first["host"], "192.168.0.10:8635");
    assert_eq!(first["client"], "10.1.2.3:52714");
    assert_eq!(first["type"], "query");
    assert_eq!(first["namespace"], "shop.orders");
    assert_eq!(first["plan_summary"], "COLLSCAN");
    assert_eq!(first["db"], "shop");
    assert_eq!(first["description"], "conn7");
    let cost: u64 = first["cost_time"]
        .as_str()
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("cost_time: {first}"));
    assert!(cost >= 120_000_000, "{cost}");
    let idle = &r["page1"]["body"]["sessions"][2];
    assert_eq!(idle["active"], false, "{idle}");
    assert_eq!(idle["cost_time"], "", "{idle}");
    // Filters: query operations on shop.orders by COLLSCAN running longer than 30 s.
    assert_eq!(
        ids(&r["queries_over_30s"]),
        [long1.clone(), long2.clone(), survivor.clone()]
    );

    // The kill: `{}` with 200; an idle session is DDS's 400 and an empty list is fine.
    assert_eq!(r["kill"], json!({"status": 200, "body": {}}), "{r}");
    assert_eq!(r["kill_idle"]["status"], 400, "{r}");
    assert_eq!(r["kill_idle"]["error_code"], "DBS.200001", "{r}");
    assert!(
        r["kill_idle"]["error_msg"]
            .as_str()
            .is_some_and(|m| m.contains(&idle1) && m.contains("inactive")),
        "{r}"
    );
    assert_eq!(r["kill_empty"], json!({"status": 200, "body": {}}), "{r}");
    let after: BTreeSet<String> = ids(&r["after_kill"]).into_iter().collect();
    let want_after: BTreeSet<String> = [&short, &idle1, &idle2, &survivor]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(after, want_after);
    // A wrong SK is the gateway's 401, and it kills nothing.
    for call in ["wrong_sk_list", "wrong_sk_kill"] {
        assert_eq!(r[call]["status"], 401, "{call}: {r}");
        assert_eq!(r[call]["error_code"], "APIGW.0301", "{call}: {r}");
    }

    // Without a project id: the SDK asked IAM, got the tenant, and lists and kills with it.
    assert_eq!(r["iam_project_id"], PROJECT, "{r}");
    assert_eq!(r["noproj_list"]["status"], 200, "{r}");
    assert_eq!(
        ids(&r["noproj_list"]),
        [elsewhere.clone(), via_iam.clone()],
        "{r}"
    );
    assert_eq!(r["noproj_kill"], json!({"status": 200, "body": {}}), "{r}");
    assert_eq!(ids(&r["noproj_after_kill"]), vec![elsewhere.clone()], "{r}");
    // The published error table: a foreign project (existing or not) is 400 DBS.200010, an
    // unknown node 404 DBS.200013, a limit beyond 100 is DBS.200001.
    for name in ["0000000000000000000000000000dead", "default"] {
        for call in ["foreign_list_", "foreign_kill_"] {
            let o = &r[format!("{call}{name}")];
            assert_eq!(o["status"], 400, "{call}{name}: {r}");
            assert_eq!(o["error_code"], "DBS.200010", "{call}{name}: {r}");
        }
    }
    for call in ["unknown_node_list", "unknown_node_kill"] {
        assert_eq!(r[call]["status"], 404, "{call}: {r}");
        assert_eq!(r[call]["error_code"], "DBS.200013", "{call}: {r}");
    }
    assert_eq!(r["limit_too_large"]["status"], 400, "{r}");
    assert_eq!(r["limit_too_large"]["error_code"], "DBS.200001", "{r}");
    assert!(
        r["limit_too_large"]["error_msg"]
            .as_str()
            .is_some_and(|m| m.contains("1 to 100")),
        "{r}"
    );
    // Every exception the SDK raised carries the answer's X-Request-Id, each its own.
    let mut request_ids = BTreeSet::new();
    let errors: Vec<(&String, &Value)> = r
        .as_object()
        .expect("object")
        .iter()
        .filter(|(_, o)| o.get("exception").is_some())
        .collect();
    assert_eq!(errors.len(), 10, "{r}");
    for (call, o) in errors {
        assert_eq!(o["exception"], "ClientRequestException", "{call}: {o}");
        let id = o["request_id"].as_str().unwrap_or_default();
        assert!(
            id.len() == 32 && id.bytes().all(|c| c.is_ascii_hexdigit()),
            "{call}: request_id {o}"
        );
        assert!(request_ids.insert(id.to_string()), "{call}: repeated {id}");
    }

    // Exactly the killed sessions are terminated, by the key's principal.
    let s = native.session(&via_iam).await;
    assert_eq!(s["state"], "terminated", "{s}");
    assert_eq!(s["ended_by"], "dds-ops", "{s}");
    for id in all_on_node.iter().chain([&&elsewhere]) {
        let s = native.session(id).await;
        if kill.contains(id) {
            assert_eq!(s["state"], "terminated", "{s}");
            assert_eq!(s["ended_by"], "dds-ops", "{s}");
        } else {
            assert_eq!(s["state"], "active", "{s}");
        }
    }
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
}
