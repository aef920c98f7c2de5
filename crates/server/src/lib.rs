//! The sessiond server as a library: configuration, stores, the key file, serving
//! (`serve::run` is the seam tests start replicas with), background tasks, and the CLI. The
//! `sessiond` binary (main.rs) only parses the command line and calls in here.

pub mod cli;
pub mod config;
mod conn_limit;
pub mod datadir;
pub mod keyfile;
pub mod serve;
pub mod stores;
mod tasks;
pub mod tls;
