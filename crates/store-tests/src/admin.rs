//! Tenants, principals and the audit log at the store level.

use crate::fixtures::at;
use sessiond_core::filter::TenantScope;
use sessiond_core::{AuditRecord, Principal, Role, Store, StoreError, Tenant};
use std::sync::Arc;

fn principal(name: &str, tenant: u32, role: Role) -> Principal {
    Principal {
        name: name.into(),
        tenant_id: tenant,
        role,
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA${name}"),
        disabled: false,
        created_at: at(1),
    }
}

/// Tenant 1 `default` exists; names are unique; lookups by id and name agree.
pub async fn tenants_basics(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let default = Tenant {
        id: 1,
        name: "default".into(),
    };
    assert_eq!(
        store.tenant_by_id(1).await.expect("by id"),
        Some(default.clone())
    );
    assert_eq!(
        store.tenant_by_name("default").await.expect("by name"),
        Some(default.clone())
    );
    let acme = store.create_tenant("acme").await.expect("create");
    assert!(acme.id > 1);
    assert_eq!(acme.name, "acme");
    let globex = store.create_tenant("globex").await.expect("create");
    assert!(globex.id != acme.id && globex.id > 1);
    match store.create_tenant("acme").await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("duplicate tenant: want Conflict, got {other:?}"),
    }
    assert_eq!(
        store.tenant_by_name("acme").await.expect("by name"),
        Some(acme.clone())
    );
    assert_eq!(
        store.tenant_by_id(acme.id).await.expect("by id"),
        Some(acme.clone())
    );
    assert_eq!(store.tenant_by_name("nope").await.expect("by name"), None);
    assert_eq!(store.tenant_by_id(9999).await.expect("by id"), None);
    let mut all = store.list_tenants().await.expect("list");
    all.sort_by_key(|t| t.id);
    assert_eq!(all, vec![default, acme, globex]);
    store.ping().await.expect("ping");
}

/// Principals: created as given (hash stored verbatim), names unique across tenants,
/// listed per tenant or all, updated in place, counted.
pub async fn principals_basics(store: Arc<dyn Store>) {
    let store = store.as_ref();
    assert_eq!(store.count_principals().await.expect("count"), 0);
    let acme = store.create_tenant("acme").await.expect("tenant").id;
    let admin = principal("admin", 1, Role::Admin);
    let ops = principal("ops", acme, Role::Operator);
    let svc = principal("svc.smb@acme", acme, Role::Service);
    for p in [&admin, &ops, &svc] {
        store.create_principal(p).await.expect("create principal");
    }
    match store
        .create_principal(&principal("ops", 1, Role::Viewer))
        .await
    {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("a taken name in another tenant: want Conflict, got {other:?}"),
    }
    assert_eq!(store.count_principals().await.expect("count"), 3);
    assert_eq!(
        store.get_principal("ops").await.expect("get"),
        Some(ops.clone())
    );
    assert_eq!(store.get_principal("OPS").await.expect("get"), None);
    let mut in_acme = store
        .list_principals(&TenantScope::One(acme))
        .await
        .expect("list");
    in_acme.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(in_acme, vec![ops.clone(), svc.clone()]);
    assert_eq!(
        store
            .list_principals(&TenantScope::All)
            .await
            .expect("list")
            .len(),
        3
    );
    let mut changed = ops.clone();
    changed.role = Role::Viewer;
    changed.password_hash = "$argon2id$new".into();
    changed.disabled = true;
    store
        .update_principal(&changed, None)
        .await
        .expect("update");
    assert_eq!(
        store.get_principal("ops").await.expect("get"),
        Some(changed)
    );
    match store
        .update_principal(&principal("ghost", 1, Role::Viewer), None)
        .await
    {
        Err(StoreError::NotFound) => {}
        other => panic!("update of an unknown principal: want NotFound, got {other:?}"),
    }
}

/// Audit records: appended in batches, listed newest first, per tenant or all, limited.
pub async fn audit_basics(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let rec = |secs: i64, tenant: u32, action: &str| AuditRecord {
        at: at(secs),
        actor: "admin".into(),
        tenant_id: tenant,
        action: action.into(),
        target: format!("t{secs}"),
        origin: (secs % 2 == 0).then(|| "10.0.0.9".to_string()),
        detail: (secs % 3 == 0).then(|| "why".to_string()),
    };
    store
        .append_audit(&[rec(1, 1, "a"), rec(2, 2, "b"), rec(3, 1, "c")])
        .await
        .expect("append");
    store.append_audit(&[rec(4, 2, "d")]).await.expect("append");
    store.append_audit(&[]).await.expect("empty append");
    let all = store.list_audit(&TenantScope::All, 10).await.expect("list");
    assert_eq!(
        all,
        vec![
            rec(4, 2, "d"),
            rec(3, 1, "c"),
            rec(2, 2, "b"),
            rec(1, 1, "a")
        ]
    );
    let one = store
        .list_audit(&TenantScope::One(1), 10)
        .await
        .expect("list");
    assert_eq!(one, vec![rec(3, 1, "c"), rec(1, 1, "a")]);
    let limited = store.list_audit(&TenantScope::All, 2).await.expect("list");
    assert_eq!(limited, vec![rec(4, 2, "d"), rec(3, 1, "c")]);
}

/// Access keys in the store: created, read back byte for byte, listed per principal,
/// deleted one by one and all at once; ids are unique.
pub async fn access_keys_basics(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let p = principal("keyholder", 1, Role::Operator);
    store.create_principal(&p).await.expect("principal");
    let key = |id: &str, at: i64| sessiond_core::AccessKey {
        access_key: id.into(),
        principal: "keyholder".into(),
        tenant_id: 1,
        created_at: sessiond_core::Timestamp::from_nanos(at),
        sealed_secret: vec![1, 2, 3, 0, 255],
    };
    store
        .create_access_key(&key("AK1", 1))
        .await
        .expect("create");
    store
        .create_access_key(&key("AK2", 2))
        .await
        .expect("create");
    assert!(matches!(
        store.create_access_key(&key("AK1", 3)).await,
        Err(sessiond_core::StoreError::Conflict(_))
    ));
    assert_eq!(
        store.get_access_key("AK1").await.expect("get"),
        Some(key("AK1", 1))
    );
    assert_eq!(store.get_access_key("nope").await.expect("get"), None);
    let listed = store.list_access_keys("keyholder").await.expect("list");
    assert_eq!(listed, vec![key("AK1", 1), key("AK2", 2)]);
    assert!(store
        .list_access_keys("other")
        .await
        .expect("list")
        .is_empty());
    assert!(store.delete_access_key("AK1").await.expect("delete"));
    assert!(!store.delete_access_key("AK1").await.expect("delete twice"));
    store
        .create_access_key(&key("AK3", 3))
        .await
        .expect("create");
    assert_eq!(
        store
            .delete_access_keys_of("keyholder")
            .await
            .expect("delete all"),
        2
    );
    assert!(store
        .list_access_keys("keyholder")
        .await
        .expect("list")
        .is_empty());
}

/// Through the registry: the secret is shown once and only sealed in the store; a signed
/// request's key resolves to its principal and secret; disabling the principal revokes it.
pub async fn access_keys_registry(store: Arc<dyn Store>) {
    use sessiond_core::wire::{CreatePrincipal, UpdatePrincipal};
    let env = crate::fixtures::Env::new(store.clone()).await;
    let (r, admin) = (&env.registry, &env.admin);
    r.create_principal(
        admin,
        CreatePrincipal {
            name: "dds-op".into(),
            password: "password-123".into(),
            role: Role::Operator,
            tenant: None,
        },
    )
    .await
    .expect("principal");
    let k = r
        .create_access_key(admin, "dds-op")
        .await
        .expect("create key");
    assert_eq!(k.access_key.len(), 20);
    assert_eq!(k.secret_key.len(), 40);
    let stored = store
        .get_access_key(&k.access_key)
        .await
        .expect("get")
        .expect("stored");
    assert!(
        !stored
            .sealed_secret
            .windows(40)
            .any(|w| w == k.secret_key.as_bytes()),
        "the secret is not stored in clear"
    );
    let (caller, secret) = r.access_key_caller(&k.access_key).await.expect("resolves");
    assert_eq!(secret, k.secret_key.as_bytes());
    assert_eq!(
        (caller.principal.as_str(), caller.role, caller.session_id),
        ("dds-op", Role::Operator, None)
    );
    let listed = r.list_access_keys(admin, "dds-op").await.expect("list");
    assert_eq!(listed.len(), 1);
    assert!(!format!("{listed:?}").contains(&k.secret_key));
    assert!(matches!(
        r.access_key_caller("UNKNOWNKEY0000000000").await,
        Err(sessiond_core::CoreError::Unauthenticated)
    ));
    let second = r
        .create_access_key(admin, "dds-op")
        .await
        .expect("second key");
    assert!(matches!(
        r.create_access_key(admin, "dds-op").await,
        Err(sessiond_core::CoreError::Conflict(_))
    ));
    assert!(matches!(
        r.delete_access_key(admin, "admin", &second.access_key)
            .await,
        Err(sessiond_core::CoreError::NotFound(_))
    ));
    r.delete_access_key(admin, "dds-op", &second.access_key)
        .await
        .expect("delete");
    r.update_principal(
        admin,
        "dds-op",
        UpdatePrincipal {
            disabled: Some(true),
            ..Default::default()
        },
    )
    .await
    .expect("disable");
    assert!(
        store
            .list_access_keys("dds-op")
            .await
            .expect("list")
            .is_empty(),
        "disabling revokes keys"
    );
    assert!(matches!(
        r.access_key_caller(&k.access_key).await,
        Err(sessiond_core::CoreError::Unauthenticated)
    ));
}

/// The login throttle's counters: each failure adds one (also when concurrent), the last
/// time is kept, clearing forgets them, names are independent.
pub async fn login_failures_count(store: Arc<dyn Store>) {
    let s = store.as_ref();
    assert_eq!(s.login_failures("alice").await.expect("read"), None);
    let f = s
        .record_login_failure("alice", at(1))
        .await
        .expect("record");
    assert_eq!(f.count, 1);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .record_login_failure("alice", at(10 + i))
                .await
                .expect("record")
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let f = s
        .login_failures("alice")
        .await
        .expect("read")
        .expect("some");
    assert_eq!(f.count, 9, "concurrent failures must each count");
    assert!(f.last >= at(10));
    assert_eq!(s.login_failures("bob").await.expect("read"), None);
    s.clear_login_failures("alice").await.expect("clear");
    assert_eq!(s.login_failures("alice").await.expect("read"), None);
    s.clear_login_failures("nobody")
        .await
        .expect("clearing nothing is fine");
}
