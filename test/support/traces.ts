/**
 * Real editing traces (Joseph Gentle's editing-traces, CC BY 4.0; see test/fixtures/traces/README.md).
 * Positions in the files count code points; keystrokes() yields UTF-16 offsets against the
 * evolving text, which is what the scripted editor speaks.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { TRACES } from './paths.js';

export interface SequentialTrace {
  startContent: string;
  endContent: string;
  txns: Array<{ patches: Array<[number, number, string]> }>;
}

export interface ConcurrentTrace {
  kind: 'concurrent';
  endContent: string;
  numAgents: number;
  txns: Array<{ parents: number[]; agent: number; patches: Array<[number, number, string]> }>;
}

export function loadTrace<T = SequentialTrace>(name: string): T {
  return JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(TRACES, `${name}.json.gz`))).toString('utf8')) as T;
}

export const SEQUENTIAL_TRACES = ['sveltecomponent', 'rustcode', 'automerge-paper'];

/** UTF-16 offset of code point `cp` in `text`; `allBmp` skips the scan for texts without surrogates. */
export function cpToUtf16(text: string, cp: number, allBmp: boolean): number {
  if (allBmp) return cp;
  let i = 0;
  for (let n = 0; n < cp && i < text.length; n++) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c < 0xdc00 ? 2 : 1;
  }
  return i;
}

export interface Keystroke {
  from: number;
  to: number;
  text: string;
}

/** Each patch of the trace as a UTF-16 replacement on the text as it is then. */
export function* keystrokes(trace: SequentialTrace, limit = Infinity): Generator<Keystroke> {
  const allBmp = !/[\ud800-\udfff]/.test(trace.endContent) && trace.txns.every((t) => t.patches.every((p) => !/[\ud800-\udfff]/.test(p[2])));
  let text = trace.startContent;
  let n = 0;
  for (const txn of trace.txns) {
    for (const [pos, del, ins] of txn.patches) {
      if (n++ >= limit) return;
      const from = cpToUtf16(text, pos, allBmp);
      const to = cpToUtf16(text, pos + del, allBmp);
      // Only texts with surrogate pairs need the text itself to convert positions.
      if (!allBmp) text = text.slice(0, from) + ins + text.slice(to);
      yield { from, to, text: ins };
    }
  }
}
