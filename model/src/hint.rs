//! A cache hint for drivers that know ahead which party an event will
//! touch: a workload's next arrival is drawn one arrival early. At a
//! million users a random user's memory is a cache miss that costs more
//! than the event's own bookkeeping; asking for it early lets the miss
//! overlap with the work of the events in between. (Asking for the next
//! delivery's party too, one event ahead, measured no different: the
//! address translation, not the load, is what remains, and a prefetch
//! pays it as a load would.)

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
