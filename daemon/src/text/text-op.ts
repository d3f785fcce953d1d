/**
 * A change to a text as an operation over UTF-16 code units (the daemon's internal unit, and
 * Automerge's). Composition and transformation come from ot-text (ShareJS's text type), so the
 * daemon's Jupiter-style rebasing of crossing edits rests on a well-tested implementation.
 */
import { type as otText } from 'ot-text';
import type { Op } from 'ot-text';

export type TextOp = Op;

/** One contiguous replacement: delete `del` code units at `at`, then insert `ins` there. */
export interface Splice {
  at: number;
  del: number;
  ins: string;
}

export function spliceOp(s: Splice): TextOp {
  return otText.normalize([s.at, s.ins, { d: s.del }].filter((c) => c !== 0 && c !== '' && !(typeof c === 'object' && c.d === 0)));
}

export function isNoop(op: TextOp): boolean {
  return otText.normalize(op).length === 0;
}

export const applyOp = (text: string, op: TextOp): string => otText.apply(text, op);
export const composeOps = (a: TextOp, b: TextOp): TextOp => otText.compose(a, b);
/** `op` in ot-text's normal form: adjacent parts of one kind merged, a trailing retain dropped. */
export const normalizeOp = (op: TextOp): TextOp => otText.normalize(op);

/**
 * Rebase `op` over `other`, both made against the same text. `side` breaks ties between inserts
 * at the same place: 'right' puts `op`'s insert after `other`'s.
 */
export const transformOp = (op: TextOp, other: TextOp, side: 'left' | 'right'): TextOp => otText.transform(op, other, side);

/** The op as splices, each to be applied to the result of the previous ones. */
export function opToSplices(op: TextOp): Splice[] {
  const out: Splice[] = [];
  let pos = 0;
  for (const c of op) {
    if (typeof c === 'number') pos += c;
    else if (typeof c === 'string') {
      out.push({ at: pos, del: 0, ins: c });
      pos += c.length;
    } else {
      out.push({ at: pos, del: c.d, ins: '' });
    }
  }
  return out;
}

/** Splices applied in order, as one op. `docLength` is not needed: ops may end early. */
export function splicesToOp(splices: Iterable<Splice>): TextOp {
  let op: TextOp | undefined;
  for (const s of splices) {
    const next = spliceOp(s);
    op = op === undefined ? next : composeOps(op, next);
  }
  return op ?? [];
}

/**
 * The op that undoes `op` (made on `before`), to apply to the text after it. Deleted text is
 * copied out so the inverse does not keep the whole `before` string alive.
 */
export function invertOp(op: TextOp, before: string): TextOp {
  const inv: TextOp = [];
  let pos = 0;
  for (const c of op) {
    if (typeof c === 'number') {
      inv.push(c);
      pos += c;
    } else if (typeof c === 'string') {
      inv.push({ d: c.length });
    } else {
      inv.push(detach(before.slice(pos, pos + c.d)));
      pos += c.d;
    }
  }
  return otText.normalize(inv);
}

/**
 * A copy of `s` that does not share memory with the string it was sliced from. A JSON round trip
 * builds a new string on any platform and is exact for every string, lone surrogates included.
 */
function detach(s: string): string {
  return s.length < 16 ? s : (JSON.parse(JSON.stringify(s)) as string);
}

/** One replacement in the coordinates of the text before any of them: `[from, to)` → `text`. */
export interface Replacement {
  /** Offset (UTF-16 units, JavaScript string index) where the replaced range starts, in the text before the edit. */
  from: number;
  /** Offset (UTF-16 units, JavaScript string index) where it ends (exclusive). */
  to: number;
  text: string;
}

/** An op as replacements in the coordinates of the text it applies to (ascending, disjoint). */
export function opToReplacements(op: TextOp): Replacement[] {
  const out: Replacement[] = [];
  let pos = 0;
  for (const c of op) {
    if (typeof c === 'number') {
      pos += c;
      continue;
    }
    const last = out[out.length - 1];
    const joined = last && last.to === pos ? last : undefined;
    if (typeof c === 'string') {
      if (joined) joined.text += c;
      else out.push({ from: pos, to: pos, text: c });
    } else {
      if (joined) joined.to += c.d;
      else out.push({ from: pos, to: pos + c.d, text: '' });
      pos += c.d;
    }
  }
  return out;
}
