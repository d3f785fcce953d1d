// Raw Automerge in one process: the floor any system built on it can only approach. Each
// keystroke is a `splice` on the sender's document, `getLastLocalChange`, and `applyChanges` on
// every receiver's document — the same work Chorus does per keystroke, minus editors and links.

import * as A2 from '@automerge/automerge';
import * as A3 from 'automerge3';
import type { Session, SetupOptions, StartState, Subject } from '../harness.js';
import type { Keystroke } from '../traces.js';

interface Doc { text: string }

/** The subset of the Automerge API both versions share (2.x under `next`). */
interface AutomergeApi {
  from(init: Doc): unknown;
  load(bytes: Uint8Array): unknown;
  clone(doc: unknown): unknown;
  save(doc: unknown): Uint8Array;
  change(doc: unknown, fn: (d: Doc) => void): unknown;
  splice(d: Doc, path: string[], index: number, del: number, insert?: string): void;
  getLastLocalChange(doc: unknown): Uint8Array | undefined;
  applyChanges(doc: unknown, changes: Uint8Array[]): [unknown, ...unknown[]];
}

const am2 = A2.next as unknown as AutomergeApi;
const am3 = A3 as unknown as AutomergeApi;

/**
 * The saved bytes of a document holding `start`, each history keystroke its own change. Built
 * once per start state with Automerge 2.2.9 (3.x reads the same format) and shared by subjects.
 */
const built = new Map<string, Uint8Array>();
export function savedStart(start: StartState): Uint8Array {
  const key = `${start.trace.name}:${start.history.length}`;
  let bytes = built.get(key);
  if (!bytes) {
    let doc = am2.from({ text: start.trace.startContent });
    for (const k of start.history) doc = am2.change(doc, (d) => am2.splice(d, ['text'], k.pos, k.del, k.insert));
    bytes = am2.save(doc);
    if ((am2.load(bytes) as Doc).text !== start.text) throw new Error(`${key}: built document differs from the trace`);
    built.set(key, bytes);
  }
  return bytes;
}

/**
 * How each peer gets its copy of the start document. 2.2.9: `load` (~2 s at 250k changes; its
 * `clone` takes longer). 3.5.0: `load` once (~9 s), then `clone` (~10 ms).
 */
type Copy = 'load' | 'clone';

function rawSubject(id: string, name: string, am: AutomergeApi, copy: Copy, extra: Partial<Subject>): Subject {
  const loaded = new Map<Uint8Array, unknown>();
  const fresh = (bytes: Uint8Array): unknown => {
    if (copy === 'load') return am.load(bytes);
    let doc = loaded.get(bytes);
    if (!doc) { doc = am.load(bytes); loaded.clear(); loaded.set(bytes, doc); }
    return am.clone(doc);
  };
  return {
    id,
    name,
    description: 'in-process: splice on the sender, getLastLocalChange, applyChanges on each receiver',
    maxPeers: 8,
    ...extra,
    async setup({ peers, start }: SetupOptions): Promise<Session> {
      const bytes = savedStart(start);
      let sender = fresh(bytes);
      const receivers = Array.from({ length: peers - 1 }, () => fresh(bytes));
      // Warm up: the first edit after loading builds lazy indexes (~0.3 s at 250k changes), a
      // cost a long-running daemon pays once; type and undo one character everywhere first.
      for (const [pos, del, insert] of [[0, 0, 'x'], [0, 1, '']] as const) {
        sender = am.change(sender, (d) => am.splice(d, ['text'], pos, del, insert));
        const change = am.getLastLocalChange(sender)!;
        for (let r = 0; r < receivers.length; r++) receivers[r] = am.applyChanges(receivers[r], [change])[0];
      }
      let cb: (r: number, count: number) => void = () => {};
      let typed = 0;
      return {
        type(k: Keystroke) {
          sender = am.change(sender, (d) => am.splice(d, ['text'], k.pos, k.del, k.insert));
          const change = am.getLastLocalChange(sender);
          if (!change) throw new Error(`${id}: keystroke ${k.index} made no change`);
          typed++;
          for (let r = 0; r < receivers.length; r++) {
            receivers[r] = am.applyChanges(receivers[r], [change])[0];
            cb(r, typed);
          }
        },
        onArrival(f) { cb = f; },
        text: (r) => (receivers[r] as Doc).text,
        peakRss: async () => ({}),
        async close() { receivers.length = 0; },
      };
    },
  };
}

export const automerge2 = rawSubject('automerge-2.2.9', 'Automerge 2.2.9 raw (floor)', am2, 'load', {});

/**
 * Automerge 3.5.0: applying one change costs O(history) (tens of ms at 100 KB), so throughput
 * runs stop at a time budget and report how per-keystroke cost grows.
 */
export const automerge3 = (budgetSeconds: number): Subject =>
  rawSubject('automerge-3.5.0', 'Automerge 3.5.0 raw', am3, 'clone', { throughputBudgetSeconds: budgetSeconds });
