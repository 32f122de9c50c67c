// Log lines about events that can come in floods (malformed datagrams, refused or oversized
// messages): a flood of events must not become a flood of log lines.

/** Whether this event gets a log line (see rateLimit). */
export type Limiter = (x?: number, gap?: number) => boolean;

/**
 * A limiter for one kind of log line. `due()` counts one event: true for the first, then once per
 * 1000. `due(total)` takes a running count kept elsewhere, which may jump: true for the first, then
 * once it has grown by 1000 since the last line. `due(now, 1)`, with the broker's seconds: at most
 * one line a second.
 */
export function rateLimit(): Limiter {
  let n = 0;
  let at = -Infinity; // x at the last line
  return (x = ++n, gap = 1000) => {
    if (Math.abs(x - at) < gap) return false;
    at = x;
    return true;
  };
}
