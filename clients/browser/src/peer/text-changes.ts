/**
 * CodeMirror's change lists (peer-api.ts TextChange: positions in the text before the whole
 * list) to and from the core's text operations (daemon/src/text/text-op.ts).
 */
import { opToReplacements, splicesToOp, type TextOp } from './core.js';
import type { TextChange } from '../peer-api.js';

/**
 * The op for a change list, checked against the text's length: changes must be sorted, must not
 * overlap and must lie inside the text. Throws a readable Error otherwise (nothing applied).
 */
export function changesToOp(changes: TextChange[], length: number): TextOp {
  let shift = 0;
  let last = 0;
  const splices = changes.map((c) => {
    if (!Number.isInteger(c.from) || !Number.isInteger(c.to) || c.from < last || c.to < c.from || c.to > length || typeof c.insert !== 'string') {
      throw new Error(`edit refused: change ${JSON.stringify({ from: c.from, to: c.to })} is out of order or outside the text (length ${length})`);
    }
    last = c.to;
    const s = { at: c.from + shift, del: c.to - c.from, ins: c.insert };
    shift += c.insert.length - (c.to - c.from);
    return s;
  });
  return splicesToOp(splices);
}

/** An op as a change list in the coordinates of the text it applies to. */
export function opToChanges(op: TextOp): TextChange[] {
  return opToReplacements(op).map((r) => ({ from: r.from, to: r.to, insert: r.text }));
}
