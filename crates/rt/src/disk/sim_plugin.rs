//! The madsim plugin that gives each simulated node its own `SimDisk` (being written).
