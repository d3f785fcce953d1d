/**
 * A change to a text as an operation over UTF-16 code units (the daemon's internal unit, and
 * Automerge's). Composition and transformation come from ot-text (ShareJS's text type), so the
 * daemon's Jupiter-style rebasing of crossing edits rests on a well-tested implementation.
 */
import { type as otText } from 'ot-text';
import type { Op } from 'ot-text';
import type { TextSource } from './rope.js';

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

/** How many characters longer `op` makes the text it applies to (negative: shorter). */
export function lengthChange(op: TextOp): number {
  let n = 0;
  for (const c of op) n += typeof c === 'string' ? c.length : typeof c === 'number' ? 0 : -c.d;
  return n;
}

export function isNoop(op: TextOp): boolean {
  return otText.normalize(op).length === 0;
}

export const applyOp = (text: string, op: TextOp): string => otText.apply(text, op);
export const composeOps = (a: TextOp, b: TextOp): TextOp => otText.compose(a, b);
/** Where offset `offset` of a text is after someone else's `op` on it (an insertion at it goes before it). */
export const transformOffset = (offset: number, op: TextOp): number => otText.transformSelection(offset, op, false);
/** `op` in ot-text's normal form: adjacent parts of one kind merged, a trailing retain dropped. */
export const normalizeOp = (op: TextOp): TextOp => otText.normalize(op);

/**
 * Rebase `op` over `other`, both made against the same text. `side` breaks ties between inserts
 * at the same place: 'right' puts `op`'s insert after `other`'s.
 */
export const transformOp = (op: TextOp, other: TextOp, side: 'left' | 'right'): TextOp => otText.transform(op, other, side);

/**
 * Where an op changes the text, when it changes it in one region and has no trailing retain: its
 * leading retains (`lead` parts) add up to `at`, then only inserts (`ins` code units in all) and
 * deletes (`del`). Undefined otherwise (several regions, empty parts, nothing changed).
 */
function regionOf(op: TextOp): { at: number; del: number; ins: number; lead: number } | undefined {
  let at = 0;
  let lead = 0;
  while (lead < op.length && typeof op[lead] === 'number') {
    const n = op[lead] as number;
    if (n <= 0) return undefined;
    at += n;
    lead++;
  }
  if (lead === op.length) return undefined;
  let del = 0;
  let ins = 0;
  for (let i = lead; i < op.length; i++) {
    const c = op[i]!;
    if (typeof c === 'string') {
      if (c.length === 0) return undefined;
      ins += c.length;
    } else if (typeof c === 'object') {
      if (!(c.d > 0)) return undefined;
      del += c.d;
    } else return undefined;
  }
  return { at, del, ins, lead };
}

/** `op` (a one-region op, `r` its region) with its region moved to `at`. */
function movedTo(op: TextOp, r: { lead: number }, at: number): TextOp {
  const rest = op.slice(r.lead);
  return at > 0 ? [at, ...rest] : rest;
}

/**
 * `[transformOp(a, b, side), transformOp(b, a, other side)]` for two ops made on the same text
 * that each change one region, with the regions apart: one ends strictly before the other starts,
 * so no tie can arise and the side does not matter. Only positions move, and this is a few array
 * reads against ot-text's walk of both ops; own-edit undo carries each change down up to 200 steps
 * (undo-history.ts). Undefined when the ops are not such a pair: use transformOp.
 */
export function transformApart(a: TextOp, b: TextOp): [TextOp, TextOp] | undefined {
  const ra = regionOf(a);
  if (!ra) return undefined;
  const rb = regionOf(b);
  if (!rb) return undefined;
  if (rb.at > ra.at + ra.del) return [a, movedTo(b, rb, rb.at - ra.del + ra.ins)];
  if (rb.at + rb.del < ra.at) return [movedTo(a, ra, ra.at - rb.del + rb.ins), b];
  return undefined;
}

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
export function invertOp(op: TextOp, before: TextSource): TextOp {
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
