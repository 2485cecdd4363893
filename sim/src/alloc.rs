//! The allocator the `commoncert` binary and the benches install, and the
//! one switch on it: transparent huge pages.
//!
//! mimalloc (version 2 of its C library), because both halves of the tool
//! are allocation-heavy: the checker clones and drops a state per
//! transition, the simulator allocates and frees messages, outcomes and
//! effects per event. Measured against glibc's malloc, alternated on one
//! machine (`reports/performance.md`): `commoncert check` uses 6-8% less
//! CPU, and the million-user workload's event loop is 10-15% faster.
//!
//! Huge pages are the second half of the simulator's gain. mimalloc asks
//! for transparent huge pages for its segments (`madvise(MADV_HUGEPAGE)`),
//! which a kernel whose THP mode is `madvise` grants and glibc's heap never
//! asks for. A million-user workload touches a random user's state,
//! identity and name on every arrival; with 2 MiB pages those touches miss
//! the TLB far less (built without huge pages, mimalloc gave the
//! simulator no gain at all). The checker is the opposite case: its heap
//! grows steadily, every fresh huge page is a 2 MiB fault that may wait
//! for the kernel to compact memory, and that cost 0.1-0.7 s of system
//! time, at random, on a 4-second check. So the checking commands turn
//! huge pages off for their process ([`huge_pages`]).
//!
//! Nothing observable depends on either choice: traces, verdicts and
//! state counts are the same byte for byte.
//!
//! A binary opts in with
//!
//! ```ignore
//! #[global_allocator]
//! static GLOBAL: commoncert_sim::alloc::Allocator = commoncert_sim::alloc::Allocator;
//! ```
//!
//! Tests and library users keep whatever allocator their binary has.

pub use mimalloc::MiMalloc as Allocator;

/// Allow (`true`) or forbid (`false`) transparent huge pages for this
/// process from now on (Linux's `PR_SET_THP_DISABLE`). Elsewhere, or if
/// the kernel refuses, it does nothing: huge pages are a matter of speed
/// only.
pub fn huge_pages(on: bool) {
    #[cfg(target_os = "linux")]
    {
        let disable = libc::c_ulong::from(!on);
        // SAFETY: `prctl(PR_SET_THP_DISABLE, flag, 0, 0, 0)` sets one flag
        // on this process's memory map; it takes no pointers. Its result
        // is ignored on purpose (see above: speed only).
        let _ = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, disable, 0, 0, 0) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = on;
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The switch reaches the kernel: `PR_GET_THP_DISABLE` reads it back.
    #[test]
    fn huge_pages_switch_is_read_back() {
        // SAFETY: `PR_GET_THP_DISABLE` takes no pointers.
        let disabled = || unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
        huge_pages(false);
        assert_eq!(disabled(), 1);
        huge_pages(true);
        assert_eq!(disabled(), 0);
    }
}
