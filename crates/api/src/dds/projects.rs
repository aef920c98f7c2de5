//! `GET /v3/projects?name=REGION`: IAM's Keystone project lookup, as `huaweicloudsdkcore`
//! makes it when `BasicCredentials` have no project id and the client is built with a
//! region (`IamHelper.get_keystone_list_projects_request`: a signed GET to the IAM endpoint,
//! `BasicCredentials.with_iam_endpoint(…)` or env `HUAWEICLOUD_SDK_IAM_ENDPOINT`, carrying
//! only `name`; the SDK then takes `projects[0].id` and insists on exactly one project).
//!
//! sessiond's project is the caller's tenant, whatever the region is called, so the answer
//! is always that one project, named as asked: `{"projects":[{"id":"<tenant name>",
//! "name":"REGION"}]}`. Authentication is the DDS API's own (AK/SK signature or
//! `X-Auth-Token`); there is no project in the path to check. Errors are DDS's body, as for
//! every path under `/v3`.

use super::auth::Authenticated;
use super::error::{DdsError, DdsResult};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::Serialize;

/// The answer the SDK reads (`projects[0].id`; IAM's other fields are not used by it).
#[derive(Debug, Serialize)]
pub struct ProjectsPage {
    pub projects: Vec<Project>,
}

#[derive(Debug, Serialize)]
pub struct Project {
    pub id: String,
    pub name: String,
}

/// The region the SDK asks for: `name`, exactly once and not empty. Anything else is refused
/// rather than ignored, as everywhere in this module: an answer for a query the server did not
/// understand would hand back a project id the caller never asked about.
fn region(query: &[(String, String)]) -> DdsResult<String> {
    match query {
        [(k, v)] if k == "name" && !v.is_empty() => Ok(v.clone()),
        _ => Err(DdsError::BadRequest(
            "the query must be exactly name=<region> (IAM's project lookup by region)".into(),
        )),
    }
}

pub async fn list(State(st): State<AppState>, req: Authenticated) -> DdsResult<Json<ProjectsPage>> {
    let name = region(&req.query)?;
    let id = st.registry.tenant_name(req.caller.tenant_id).await?;
    Ok(Json(ProjectsPage {
        projects: vec![Project { id, name }],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn dds_iam_region_is_the_one_name_parameter() {
        assert_eq!(
            region(&q(&[("name", "eu-de")])).ok().as_deref(),
            Some("eu-de")
        );
        for bad in [
            q(&[]),
            q(&[("name", "")]),
            q(&[("name", "a"), ("name", "b")]),
            q(&[("name", "a"), ("x", "1")]),
            q(&[("domain_id", "a")]),
        ] {
            assert!(
                matches!(region(&bad), Err(DdsError::BadRequest(_))),
                "{bad:?}"
            );
        }
    }
}
