//! A cache hint for drivers that know, one event ahead, which party the
//! next event touches: the simulator's next delivery, a workload's next
//! arrival. At a million users each such party's memory is a cache miss
//! that costs more than the event's own bookkeeping; asking for it early
//! lets the miss overlap with the current event's work.

/// Ask the CPU to start loading the cache line that holds `r`. A hint: it
/// reads nothing the program can observe and changes no behaviour; on
/// targets without a prefetch instruction it does nothing.
#[inline(always)]
pub fn prefetch<T: ?Sized>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: `_mm_prefetch` needs SSE, which every x86_64 target has;
        // a prefetch never faults, and `r` is a valid reference anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(r).cast::<i8>()) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}
