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
    store.update_principal(&changed).await.expect("update");
    assert_eq!(
        store.get_principal("ops").await.expect("get"),
        Some(changed)
    );
    match store
        .update_principal(&principal("ghost", 1, Role::Viewer))
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
