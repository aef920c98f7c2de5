//! Tests of the identity module through its public API, one file per part.

use super::*;
use crate::domain::{Domain, User};

mod auth_id;
mod fold;
mod grammar;
mod number;
mod properties;
mod user;

fn name(domain: Option<Domain>, n: &str) -> IdentityQuery {
    IdentityQuery::Name {
        domain,
        folded: fold(n),
    }
}

fn sid(s: &str) -> IdentityQuery {
    IdentityQuery::Sid(s.to_owned())
}

fn user(domain: Domain) -> User {
    User {
        domain,
        ..User::default()
    }
}
