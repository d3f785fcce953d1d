/**
 * An "operation bomb" for tests of what a peer may send (decision 213): a well-formed Automerge
 * change of ~130 bytes claiming as many operations as asked. Its own module, so the unit tests
 * that use it do not load the overlay with the malicious peer.
 */
import { createHash } from 'node:crypto';
import { BOOLEAN, changeColumnsAt, RAW_VALUE, Reader, STRING_RLE } from '../../daemon/src/sync/chunk-columns.js';
import { MAGIC } from '../../daemon/src/sync/change-check.js';
import * as A from '@automerge/automerge/next';

/** LEB128, unsigned and signed, as Automerge's columns hold numbers. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = ((n % 128) + 128) % 128;
    n = Math.floor(n / 128);
    const last = (n === 0 && !(b & 0x40)) || (n === -1 && (b & 0x40) !== 0);
    out.push(last ? b : b | 0x80);
    if (last) return out;
  }
}

/**
 * An "operation bomb" (decision 213): a well-formed change on `saved` (so its dependencies are
 * the victim's heads and it would apply at once) that makes a list `x` of `ops` nulls, in ~130
 * bytes whatever `ops` is. Made as a change of 1,000 nulls by Automerge, whose columns are then
 * rewritten: the longest run of every column grows by `ops - 1000`, so all columns still agree
 * on the number of operations, and the checksum is computed again. Automerge decodes and applies
 * it as `ops` operations (~6 µs each to decode, hundreds of bytes each to hold).
 */
export function opBomb(saved: Uint8Array, ops: number): Uint8Array {
  const N = 1000;
  const made = A.getLastLocalChange(A.change(A.load<{ x?: null[] }>(saved), (d) => (d.x = Array<null>(N).fill(null))))!;
  const r = new Reader(made);
  r.at = 9;
  const length = r.uleb();
  const bodyAt = r.at;
  r.at = changeColumnsAt(made);
  const head = made.subarray(bodyAt, r.at); // dependencies, actor, seq, start op, time, message, other actors
  // The column list (spec and length of each), then each column's bytes in that order.
  const cols = [...r.columns()].map((c) => ({ spec: c.spec, length: c.length, data: new Uint8Array(0) as Uint8Array }));
  for (const c of cols) c.data = r.take(c.length);
  const extra = made.subarray(r.at, bodyAt + length);
  for (const col of cols) {
    const type = col.spec & 7;
    if (type === RAW_VALUE || col.data.length === 0) continue;
    type Counted = { kind: 'bool' | 'run' | 'nulls'; n: number; value?: Uint8Array };
    type Run = Counted | { kind: 'literal'; values: Uint8Array[] };
    const d = new Reader(col.data);
    const runs: Run[] = [];
    const value = () => {
      const from = d.at;
      if (type === STRING_RLE) d.skip(d.uleb());
      else d.leb();
      return col.data.subarray(from, d.at);
    };
    while (d.at < d.end) {
      if (type === BOOLEAN) {
        runs.push({ kind: 'bool', n: d.uleb() });
        continue;
      }
      const n = d.sleb();
      if (n > 0) runs.push({ kind: 'run', n, value: value() });
      else if (n < 0) runs.push({ kind: 'literal', values: Array.from({ length: -n }, value) });
      else runs.push({ kind: 'nulls', n: d.uleb() });
    }
    const longest = runs.filter((x): x is Counted => x.kind !== 'literal').sort((a, b) => b.n - a.n)[0];
    if (!longest || longest.n < N / 2) continue; // a column of the list's one "make" operation only
    longest.n += ops - N;
    const out: number[] = [];
    for (const x of runs) {
      if (x.kind === 'bool') out.push(...uleb(x.n));
      else if (x.kind === 'run') out.push(...sleb(x.n), ...x.value!);
      else if (x.kind === 'nulls') out.push(0, ...uleb(x.n));
      else if (x.kind === 'literal') {
        out.push(...sleb(-x.values.length));
        for (const v of x.values) out.push(...v);
      }
    }
    col.data = Uint8Array.from(out);
  }
  const body = [...head, ...uleb(cols.length)];
  for (const c of cols) body.push(...uleb(c.spec), ...uleb(c.data.length));
  for (const c of cols) body.push(...c.data);
  body.push(...extra);
  const typed = Uint8Array.from([1, ...uleb(body.length), ...body]);
  const hash = createHash('sha256').update(typed).digest();
  return Uint8Array.from([...MAGIC, ...hash.subarray(0, 4), ...typed]);
}
