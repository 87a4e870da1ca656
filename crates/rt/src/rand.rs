//! Randomness. (Being completed: deterministic under simulation.)

/// A random u64.
pub fn u64() -> u64 {
    ::rand::random()
}
