// The keystroke path's trace points (daemon/src/trace-points.ts, decision 211): two real daemons
// sharing a file, started by the built CLI with CHORUS_TRACE_DIR, write their points as they stop,
// and the benchmark's reader (bench/src/trace-table.ts) finds every stage of each keystroke on
// both sides, in the order the route takes them. Then the reader alone, on a timeline made here.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { traceTable, type TraceTable } from '../../bench/src/trace-table.js';
import { chorus, joinedPair, stopAfterEach, waitUntil } from '../support/cli.js';
import { tempDir } from '../support/project-dir.js';
import { ScriptedEditor } from '../support/scripted-editor.js';

const used = stopAfterEach();
const editors: ScriptedEditor[] = [];
afterEach(() => {
  for (const e of editors.splice(0)) e.close();
});

const KEYS = 9;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const p50 = (side: Record<string, { p50Us: number }>, point: string): number => {
  const t = side[point];
  if (!t) throw new Error(`no "${point}" point on this side; it has ${Object.keys(side).join(', ')}`);
  return t.p50Us;
};
/** Every point of `order` is on the side, each no earlier than the one before it (medians). */
function inOrder(side: TraceTable['typing'], order: string[]): void {
  const at = order.map((p) => p50(side, p));
  expect(at, `${order.join(' ≤ ')}: ${JSON.stringify(side)}`).toEqual([...at].sort((a, b) => a - b));
}

describe('trace points', () => {
  it('two daemons record each keystroke at every stage, in the order of the change route', async () => {
    const traceDir = tempDir();
    process.env.CHORUS_TRACE_DIR = traceDir;
    let pair: { a: string; b: string };
    try {
      pair = joinedPair({ 't.txt': 'hello\n' }, used);
    } finally {
      delete process.env.CHORUS_TRACE_DIR;
    }
    const { a, b } = pair;
    const typist = await ScriptedEditor.socket(path.join(a, '.chorus', 'daemon.sock'), { name: 'typist' });
    const reader = await ScriptedEditor.socket(path.join(b, '.chorus', 'daemon.sock'), { name: 'reader' });
    editors.push(typist, reader);
    await typist.init();
    await reader.init();
    expect(await typist.open('t.txt')).toBe('hello\n');
    expect(await reader.open('t.txt')).toBe('hello\n');
    // Paced like the benchmark's keystrokes (the reader tells keystrokes apart by their gaps).
    for (let i = 0; i < KEYS; i++) {
      await typist.edit('t.txt', 5 + i, 5 + i, String(i));
      await reader.waitFor(() => reader.text('t.txt') === `hello${'012345678'.slice(0, i + 1)}\n`, `keystroke ${i} at the reader`);
      await sleep(100);
    }
    for (const dir of [a, b]) {
      const stop = chorus(['stop', dir]);
      expect(stop.status, stop.stderr).toBe(0);
    }
    await waitUntil('both daemons wrote their trace', () => fs.readdirSync(traceDir).filter((f) => f.startsWith('trace-')).length === 2);

    const table = traceTable(traceDir, KEYS, 30);
    expect(table.keystrokes).toBe(KEYS);
    expect(p50(table.typing, 'editor-in')).toBe(0);
    inOrder(table.typing, ['editor-in', 'request', 'edit-staged', 'change-made', 'change-stored', 'route', 'peer-out']);
    inOrder(table.receiving, ['peer-in', 'change-checked', 'change-applied', 'route', 'editor-out']);
    // the typing daemon answered its editor
    expect(p50(table.typing, 'editor-out')).toBeGreaterThan(p50(table.typing, 'change-stored'));
  });

  it('the reader takes the typing daemon to be the one that staged edits, and a keystroke to start after a gap', () => {
    const dir = tempDir();
    const ms = 1_000_000n;
    const t0 = 1_000_000_000n;
    // the editor's initialize, half a second before
    const typing: string[] = [`${t0 - 500n * ms} editor-in`, `${t0 - 500n * ms + 100_000n} request`];
    const receiving: string[] = [];
    // two warm-up keystrokes 1 ms apart (one group), then three at 33 ms: arrival, staging, out
    for (const [k, at] of [0n, 1n, 34n, 67n, 100n].entries()) {
      const start = t0 + at * ms;
      typing.push(`${start} editor-in`, `${start + 200_000n} edit-staged`, `${start + 400_000n} route`, `${start + 500_000n} peer-out`);
      // the receiver's time grows with the keystroke: the paced ones reach the editor at 1.2, 1.3, 1.4 ms
      receiving.push(`${start + 900_000n} peer-in`, `${start + 1_000_000n + BigInt(k) * 100_000n} editor-out`);
    }
    // one keystroke's frame read in two parts: its second editor-in starts no keystroke
    typing.push(`${t0 + 67n * ms + 300_000n} editor-in`);
    // the typing daemon's heartbeat inside two paced keystrokes, before their changes were routed:
    // not when they left
    typing.push(`${t0 + 34n * ms + 100_000n} peer-out`, `${t0 + 67n * ms + 150_000n} peer-out`);
    // a ping from the receiver, no keystroke: its points join the keystroke they fall in
    receiving.push(`${t0 + 50n * ms} peer-out`);
    // the last sync round of the keystroke before, arriving late: not the keystroke's own
    receiving.push(`${t0 + 34n * ms + 100_000n} peer-in`, `${t0 + 67n * ms + 100_000n} peer-in`);
    fs.writeFileSync(path.join(dir, 'trace-100.txt'), typing.join('\n') + '\n');
    fs.writeFileSync(path.join(dir, 'trace-200.txt'), receiving.join('\n') + '\n');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a trace\n');

    const table = traceTable(dir, 3, 30);
    expect(table.keystrokes).toBe(3);
    expect(table.typing['editor-in']).toEqual({ p50Us: 0, p90Us: 0, samples: 3 });
    expect(table.typing['edit-staged']?.p50Us).toBe(200);
    expect(table.typing['peer-out']).toEqual({ p50Us: 500, p90Us: 500, samples: 3 });
    expect(table.receiving['peer-in']).toEqual({ p50Us: 900, p90Us: 900, samples: 3 });
    expect(table.receiving['editor-out']).toEqual({ p50Us: 1300, p90Us: 1400, samples: 3 });
    expect(table.receiving['peer-out']?.samples).toBe(1);
    // asked for more: the warm-up burst is one keystroke more; the initialize none
    expect(traceTable(dir, 10, 30).keystrokes).toBe(4);
    expect(() => traceTable(tempDir(), 10, 30)).toThrow(/no daemon's trace/);
  });
});
