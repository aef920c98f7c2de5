//! Filter cases: a varied population checked against `SessionFilter::matches` for every
//! filter field, count and max-id agreement, and hand-written expectations for identities
//! (Unicode folding, domains, SIDs), originators (IPs, CIDRs, hosts) and current operations
//! (exact fields, the strict start bound, a node's `mongodb` sessions as DDS lists them).
//!
//! The population and the filter sets live in `population` and `filter_sets`; each case
//! is in its own file and re-exported here, so a case's path stays `filters::<case>`.

mod count_and_max;
mod examples;
mod filter_sets;
mod operation_examples;
mod population;
mod reference;

pub use count_and_max::count_and_max_agree_with_list;
pub use examples::filter_examples;
pub use operation_examples::operation_filter_examples;
pub use reference::filters_match_reference;
