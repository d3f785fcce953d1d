/**
 * Real editing traces (Joseph Gentle's editing-traces, CC BY 4.0; see test/fixtures/traces/README.md).
 * Sequential traces are read and replayed with the benchmark's replayer (bench/src/traces.ts), so
 * the conformance tests and the benchmark type exactly the same keystrokes.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { loadTrace, type SequentialTrace } from '../../bench/src/traces.js';
import { TRACES } from './paths.js';

export { applyKeystroke, keystrokeArray, keystrokes, type Keystroke, type SequentialTrace } from '../../bench/src/traces.js';

export interface ConcurrentTrace {
  kind: 'concurrent';
  endContent: string;
  numAgents: number;
  txns: Array<{ parents: number[]; agent: number; patches: Array<[number, number, string]> }>;
}

export function loadSequentialTrace(name: string): SequentialTrace {
  return loadTrace(path.join(TRACES, `${name}.json.gz`));
}

export function loadConcurrentTrace(name: string): ConcurrentTrace {
  return JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(TRACES, `${name}.json.gz`))).toString('utf8')) as ConcurrentTrace;
}
