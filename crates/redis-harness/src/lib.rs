//! Test support: starts real `redis-server` processes on free loopback ports, standalone
//! ([`RedisServer`]) or as a Cluster with replicas ([`RedisCluster`]), and kills them on drop.
//!
//! Only a dev-dependency. Everything here panics on failure with a message saying what
//! went wrong: a test that needs Redis must fail, never skip, when Redis is missing.

mod cli;
mod cluster;
mod ports;
mod process;
mod server;

pub use cluster::RedisCluster;
pub use server::RedisServer;
