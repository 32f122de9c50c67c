// Predefined topic ids, read from a file in the Paho MQTT-SN gateway's format so deployments can
// reuse theirs: one `CLIENTID, TOPIC, ID` per line, `*` as CLIENTID for every client, `#` comment
// lines, blank lines ignored. A client's own entry wins over a `*` entry for the same id or name.
import { topicNameError } from '../../codec/validate.ts';
import { contentLines } from '../../config/lines.ts';
import type { PredefinedTopic } from '../../config/types.ts';

/** Parses the file's text; `fail(line, reason)` reports an error (it throws). */
export function parsePredefined(text: string, fail: (line: number, reason: string) => never): PredefinedTopic[] {
  const out: PredefinedTopic[] = [];
  const seen = new Set<string>();
  for (const [n, line] of contentLines(text)) {
    const parts = line.split(',').map((s) => s.trim());
    if (parts.length !== 3) fail(n, `expected 'CLIENTID, TOPIC, ID', got '${line}'`);
    const [clientId, topic, idText] = parts;
    if (!clientId) fail(n, 'empty client id (use * for every client)');
    if (topicNameError(topic)) fail(n, `'${topic}' is not a topic name (no wildcards, not empty)`);
    if (!/^\d+$/.test(idText) || Number(idText) < 1 || Number(idText) > 65534) {
      fail(n, `topic id '${idText}' is out of range (allowed 1..65534)`);
    }
    const id = Number(idText);
    for (const key of [`${clientId}\0#${id}`, `${clientId}\0${topic}`]) {
      if (seen.has(key)) fail(n, `duplicate ${key.includes('#') ? `topic id ${id}` : `topic '${topic}'`} for client ${clientId}`);
      seen.add(key);
    }
    out.push({ clientId, topic, id });
  }
  return out;
}

/** Lookup both ways, per client with `*` as the fallback. */
export class PredefinedTopics {
  private readonly byId = new Map<string, Map<number, string>>();
  private readonly byName = new Map<string, Map<string, number>>();

  constructor(entries: readonly PredefinedTopic[]) {
    for (const e of entries) {
      let ids = this.byId.get(e.clientId);
      let names = this.byName.get(e.clientId);
      if (!ids || !names) {
        this.byId.set(e.clientId, (ids = new Map()));
        this.byName.set(e.clientId, (names = new Map()));
      }
      ids.set(e.id, e.topic);
      names.set(e.topic, e.id);
    }
  }

  name(clientId: string, id: number): string | undefined {
    return this.byId.get(clientId)?.get(id) ?? this.byId.get('*')?.get(id);
  }

  id(clientId: string, topic: string): number | undefined {
    return this.byName.get(clientId)?.get(topic) ?? this.byName.get('*')?.get(topic);
  }
}
