#ifndef NESTOR_PREFETCH_H
#define NESTOR_PREFETCH_H

/// Asks the CPU to start loading the cache line at `p`. A graph search jumps to vectors at
/// random addresses, so it is bound by memory latency; announcing the next neighbour's vector
/// while the current one is scored hides most of it. Swift has no portable spelling for this.
static inline void nestor_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#endif
