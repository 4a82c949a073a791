//! Locks shared by the reporter and the binding.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex` even when a panic elsewhere poisoned it: every value behind the core's
/// locks is replaced whole, so it is still consistent.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
