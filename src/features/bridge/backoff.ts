// Reconnect delays: "decorrelated jitter" between restart_timeout's base and cap, so that a
// broker restarting does not see all its bridges return in the same second, and a dead remote is
// not hammered. With base = cap the delay is constant.

/** The next delay in seconds, given the previous one (0 after a success). */
export function nextDelay(prev: number, base: number, cap: number): number {
  if (cap <= base) return base;
  const hi = Math.max(base, prev * 3);
  return Math.min(cap, base + Math.random() * (hi - base));
}
