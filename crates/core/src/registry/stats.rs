//! Session statistics for the console's overview: live sessions per tenant and service and
//! the hourly opened/ended counts of the last seven days, in the caller's tenant scope.

use super::{Caller, Registry};
use crate::domain::Privilege;
use crate::error::CoreResult;
use crate::stats::{hour_of, SessionStats};
use std::time::Duration;

/// How far back the hourly counts go: seven days before now, from the start of that hour.
pub const STATS_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

impl Registry {
    /// Live sessions per tenant and service, and sessions opened and ended per hour from
    /// the hour seven days ago on. Needs Sessions.Read; the tenant scope is the session
    /// list's (`tenant`: none = the caller's own, a name it sees, or `*` for a global admin).
    pub async fn session_stats(
        &self,
        caller: &Caller,
        tenant: Option<&str>,
    ) -> CoreResult<SessionStats> {
        caller.require(Privilege::SessionsRead)?;
        let scope = self.tenant_scope_for(caller, tenant).await?;
        let since_hour = hour_of(self.clock.now().minus(STATS_WINDOW));
        Ok(self.store.session_stats(&scope, since_hour).await?)
    }
}
