//! The name server: brokers register their topics here (and re-register every 30 s as their
//! heartbeat), and clients ask it which brokers serve a topic. RocketMQ-compatible on the wire:
//! stock brokers, clients and admin tools talk to it unchanged.
//!
//! Stateless by design: everything lives in memory, any number of name servers run side by
//! side, and every broker registers with all of them, so a restarted name server is whole again
//! within one registration period. Nothing is written to disk — the KV config included.
//!
//! - [`routeinfo`]: the route tables ([`RouteInfoManager`]) and their JSON forms;
//! - [`kvconfig`]: the KV config;
//! - [`processor`]: what each request code is answered with;
//! - [`controller`]: the running server, its expiry scan, and the [`run`]/[`start`] entry points;
//! - [`config`](mod@config): `namesrv.conf`.

pub mod broker_housekeeping_service;
pub mod config;
pub mod controller;
pub mod error;
pub mod kvconfig;
pub mod processor;
pub mod routeinfo;

pub use config::NamesrvConfig;
pub use controller::{run, start, NamesrvController, NamesrvHandle};
pub use error::NamesrvError;
pub use routeinfo::RouteInfoManager;
