//! The core's own small runtime, where HTTP delivery and file writes run, away from the
//! BEAM's schedulers: one worker thread and at most one thread for blocking work, both
//! created on first use and idle when there is nothing to do.

use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

/// Name of the runtime's threads, as `ps -L` and `top -H` show them.
pub const THREAD_NAME: &str = "msm-runtime";

/// The runtime, started on first use.
///
/// # Errors
/// When the OS refuses to start its threads; the caller reports it instead of panicking.
pub fn get() -> Result<&'static Runtime, String> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(1)
                .max_blocking_threads(1)
                .thread_name(THREAD_NAME)
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the metrics runtime: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Gives the memory a large cycle freed back to the OS. The C allocator keeps freed
/// memory in per-thread arenas for reuse, so without this the VM's resident size would
/// stay at the high-water mark of the largest cycle (tens of MB for a large deployment)
/// for good. It walks every arena, so it is for after large cycles only.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: malloc_trim takes no pointer and only returns the allocator's free pages.
    unsafe {
        libc::malloc_trim(0);
    }
}
