//! Interoperability checks of Apogee with a stock RocketMQ client.
//!
//! Everything lives in `tests/` (the real `mqnamesrv` and `mqbroker` processes driven by
//! `rocketmq-client-rust` from crates.io) and `examples/` (the README quickstart's producer and
//! consumer). This library is empty: a package needs one target of its own kind.
