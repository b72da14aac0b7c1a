//! Memory and swap figures from `/proc/meminfo` counters.

use crate::delta::percent;
use crate::raw::MemInfo;
use crate::snapshot::{MemoryUsage, SwapUsage};

/// Physical memory use; "used" is `total - available`, like procps-ng 4 `free`.
pub fn memory_usage(m: &MemInfo) -> MemoryUsage {
    let used = m.total.saturating_sub(m.available);
    MemoryUsage {
        total_bytes: m.total,
        used_bytes: used,
        available_bytes: m.available,
        free_bytes: m.free,
        cached_bytes: m.cached,
        buffers_bytes: m.buffers,
        percent: percent(used, m.total),
    }
}

/// Swap use; 0% when the host has no swap.
pub fn swap_usage(m: &MemInfo) -> SwapUsage {
    let used = m.swap_total.saturating_sub(m.swap_free);
    SwapUsage {
        total_bytes: m.swap_total,
        used_bytes: used,
        free_bytes: m.swap_free.min(m.swap_total),
        percent: percent(used, m.swap_total),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_and_swap() {
        let m =
            MemInfo { total: 1000, free: 100, available: 250, buffers: 10, cached: 200, swap_total: 0, swap_free: 0 };
        let u = memory_usage(&m);
        assert_eq!((u.used_bytes, u.percent), (750, 75.0));
        let s = swap_usage(&m);
        assert_eq!((s.used_bytes, s.percent), (0, 0.0));
        let s = swap_usage(&MemInfo { swap_total: 400, swap_free: 300, ..m });
        assert_eq!((s.used_bytes, s.percent), (100, 25.0));
    }
}
