// WebSocket options (feature WS; docs/configuration.md#websockets): websockets_log_level and
// websockets_headers_size (global), http_dir and websockets_origin (per listener).
import { FEATURES } from '../../config/features.ts';
import type { BrokerConfig, ListenerConfig } from '../../config/types.ts';
import { parseInteger, pathValue, single, type Where } from '../../config/values.ts';

const [HEADERS_SIZE, LOG_LEVEL] = FEATURES.WS.options;
const [HTTP_DIR] = FEATURES.WS.listenerOptions;

/** One WS option into `cfg`, or into the listener it belongs to through `inListener`. */
export function wsOption(
  w: Where,
  name: string,
  args: string[],
  line: string,
  cfg: BrokerConfig,
  inListener: (apply: (t: Partial<ListenerConfig>) => void) => void,
): void {
  if (name === LOG_LEVEL) {
    // A libwebsockets bit mask in Mosquitto; Midge has no libwebsockets: read, and no effect.
    parseInteger(w, name, single(w, name, args), -2147483648, 2147483647);
  } else if (name === HEADERS_SIZE) {
    cfg.wsHeadersSize = parseInteger(w, name, single(w, name, args), 0, 65535);
  } else if (name === HTTP_DIR) {
    const dir = pathValue(w, name, line, 'a directory');
    inListener((t) => { t.httpDir = dir; });
  } else {
    // websockets_origin: repeatable, each value one allowed Origin.
    const origin = single(w, name, args);
    inListener((t) => { t.origins = [...(t.origins ?? []), origin]; });
  }
}
