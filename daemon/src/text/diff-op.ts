/**
 * Ops that turn one text into another: `diffToOp` for any two texts, `outsideEditOp` for a tool's
 * change of a file taken in (by line first, a rewritten line whole: decision 258), and
 * `replaceOp`, bounded for an editor's change of any size. They diff by character (fast-diff,
 * Myers' algorithm) what is small, and by line first what is not.
 */
import diff from 'fast-diff';
import { type as otText } from 'ot-text';
import { isHigh, isLow } from './positions.js';
import type { TextOp } from './text-op.js';

/**
 * The op that turns `from` into `to`, in normal form. Diffed by character when what differs
 * (their common start and end left out) is under WHOLE_CHAR_DIFF_MAX characters, else by line
 * first as `replaceOp` does, with a larger bound for each block's character diff, and by
 * character after all where the lines cannot be diffed. Myers' diff costs up to the product of
 * the lengths and the differences: a `sed` changing each of a 137 KB file's 3,000 lines took
 * 2.8–4.7 s by character, held in one turn of the daemon, and takes 0.2–0.3 s so (decision 252).
 */
export function diffToOp(from: string, to: string): TextOp {
  if (from === to) return [];
  return otText.normalize(replaceOp(from, to, OUTSIDE_EDIT));
}

/**
 * The op an outside edit (a tool's change of the file, taken in three-way) makes of `from` into
 * `to`: `diffToOp`, with each character diff cleaned up for meaning (diff-match-patch's semantic
 * cleanup, in fast-diff): a word or line rewritten is deleted and inserted whole, not matched
 * character by character with what it replaced. Two members who rewrote one line while apart
 * (`same line three` → `alice rewrote three` here, → `dan rewrote three` there) each made a
 * minimal diff that kept stray letters of the old line, and the CRDT, merging both, wove their
 * insertions between those letters: `dace rewrot rewrote three`, a line neither wrote
 * (trial s55a F2; decision 258). Whole, the two rewrites sit side by side, each readable.
 */
export function outsideEditOp(from: string, to: string): TextOp {
  if (from === to) return [];
  return otText.normalize(replaceOp(from, to, OUTSIDE_EDIT_SEMANTIC));
}

/**
 * fast-diff's diff of `from` into `to` as an op (ending early when `to` ends with what `from`
 * does); `semantic`: with its semantic cleanup (see `outsideEditOp`).
 */
function charDiff(from: string, to: string, semantic = false): TextOp {
  const op = asOp(diff(from, to));
  // Only a rewrite is cleaned up for meaning (see `rewrites`); fast-diff cleans up only within a diff.
  return semantic && rewrites(op) ? asOp(diff(from, to, undefined, true)) : op;
}

/** fast-diff's parts as an op, in normal form. */
function asOp(parts: ReturnType<typeof diff>): TextOp {
  const op: TextOp = [];
  for (const [kind, text] of parts) {
    if (kind === diff.EQUAL) op.push(text.length);
    else if (kind === diff.INSERT) op.push(text);
    else op.push({ d: text.length });
  }
  return otText.normalize(op);
}

/**
 * Past this many characters (old and new together), two texts are not diffed character by
 * character: Myers' diff costs up to their lengths' product when they differ throughout (a paste
 * of other text over a whole buffer), and this runs on an editor's keystroke path.
 */
const CHAR_DIFF_MAX = 4_000;
/** Past this many lines (old and new together), texts are not diffed line by line either. */
const LINE_DIFF_MAX = 20_000;
/**
 * An outside edit's bound for a character diff (old and new together), and past the bounds of a
 * line diff it is diffed by character still: taken in once, off the keystroke path, where a
 * replacement of whole lines would move others' typing in them to the block's edge.
 */
const WHOLE_CHAR_DIFF_MAX = 20_000;

/** How far a diff goes by character, and what is done where lines cannot be diffed. */
interface Bounds {
  charMax: number;
  undiffable: (old: string, ins: string) => TextOp;
  /** Character diffs cleaned up for meaning (see `outsideEditOp`). */
  semantic?: boolean;
}
const EDITOR_CHANGE: Bounds = { charMax: CHAR_DIFF_MAX, undiffable: plain };
const OUTSIDE_EDIT: Bounds = { charMax: WHOLE_CHAR_DIFF_MAX, undiffable: (a, b) => covering(charDiff(a, b), a.length) };
const OUTSIDE_EDIT_SEMANTIC: Bounds = { charMax: WHOLE_CHAR_DIFF_MAX, undiffable: (a, b) => covering(charDiff(a, b, true), a.length), semantic: true };

/**
 * The op components, covering all of `old`, that turn `old` (the text an editor's change
 * replaces) into `ins`, deleting and inserting only what changed: what the two have in common at
 * their start and end is kept; what is left is diffed by character when small (CHAR_DIFF_MAX),
 * else by line (LINE_DIFF_MAX), a block of lines changed in place line by line with each line
 * diffed by character, another changed block by character when small; past all that, replaced
 * whole. The text it makes is `ins` whatever the route. A surrogate pair is never
 * split. Linear in the texts apart from the bounded diffs.
 */
export function replaceOp(old: string, ins: string, bounds: Bounds = EDITOR_CHANGE): TextOp {
  if (!old || !ins) return plain(old, ins);
  const most = Math.min(old.length, ins.length);
  let head = 0;
  while (head < most && old.charCodeAt(head) === ins.charCodeAt(head)) head++;
  if (head > 0 && isHigh(old.charCodeAt(head - 1))) head--; // its low half differs
  let tail = 0;
  while (tail < most - head && old.charCodeAt(old.length - 1 - tail) === ins.charCodeAt(ins.length - 1 - tail)) tail++;
  if (tail > 0 && isLow(old.charCodeAt(old.length - tail))) tail--; // its high half differs
  if (bounds.semantic || old.length + ins.length - 2 * (head + tail) > bounds.charMax) {
    // Diffed by line: the kept start and end shrink to whole lines, so that both sides of the
    // middle are whole lines (a re-indent's first and last lines share some spaces, which would
    // otherwise split them).
    // Each cut is just after a line end the two have in common.
    head = head === 0 ? 0 : old.lastIndexOf('\n', head - 1) + 1;
    const nl = tail === 0 ? -1 : old.indexOf('\n', old.length - tail);
    tail = nl === -1 ? 0 : old.length - (nl + 1);
  }
  const gone = old.slice(head, old.length - tail);
  const put = ins.slice(head, ins.length - tail);
  return [...(head ? [head] : []), ...middle(gone, put, bounds), ...(tail ? [tail] : [])];
}

/** Delete `old` whole, insert `ins`. */
function plain(old: string, ins: string): TextOp {
  return [...(old ? [{ d: old.length }] : []), ...(ins ? [ins] : [])];
}

/** `gone` into `put` (covering all of `gone`): by character, by line, or whole (see replaceOp). */
function middle(gone: string, put: string, bounds: Bounds): TextOp {
  if (!gone || !put) return plain(gone, put);
  if (!bounds.semantic && gone.length + put.length <= bounds.charMax) return byChar(gone, put, bounds);
  const blocks = lineDiff(gone, put);
  if (blocks === undefined) return bounds.undiffable(gone, put);
  const op: TextOp = [];
  let deleted: string[] = [];
  let inserted: string[] = [];
  const flush = () => {
    if (deleted.length && inserted.length && deleted.length === inserted.length) {
      // As many lines replaced as put: each line changed in place (a re-indent, a `:%s`), each
      // diffed with its counterpart. Every line of a re-indent differs, so the line diff alone
      // would replace them all.
      deleted.forEach((line, k) => op.push(...inPlace(line, inserted[k]!, bounds)));
    } else {
      const d = deleted.join('');
      const n = inserted.join('');
      op.push(...byChar(d, n, bounds));
    }
    deleted = [];
    inserted = [];
  };
  for (const [kind, lines] of blocks) {
    if (kind === diff.DELETE) deleted.push(...lines);
    else if (kind === diff.INSERT) inserted.push(...lines);
    else {
      flush();
      op.push(lines.reduce((n, line) => n + line.length, 0));
    }
  }
  flush();
  return op;
}

/**
 * Line `a` changed in place into `b` (each with its line end, if any): by character, but an
 * outside edit's line that keeps under half of itself (semantic bounds) was rewritten, and is
 * replaced whole, its line end kept. Matched letter by letter with the old line, a rewrite keeps
 * stray letters of it, between which another member's rewrite of the same line is woven when
 * the CRDT merges the two (see `outsideEditOp`).
 */
function inPlace(a: string, b: string, bounds: Bounds): TextOp {
  const op = byChar(a, b, bounds);
  if (!bounds.semantic || !rewrites(op)) return op;
  const ends = a.endsWith('\n') && b.endsWith('\n') ? 1 : 0;
  const kept = op.reduce<number>((n, c) => (typeof c === 'number' ? n + c : n), 0) - ends;
  if (2 * kept >= Math.max(a.length, b.length) - ends) return op;
  return [...plain(a.slice(0, a.length - ends), b.slice(0, b.length - ends)), ...(ends ? [1] : [])];
}

/**
 * Whether `op` both deletes and inserts: a rewrite. One that only deletes (a `git stash` taking
 * out what was typed in a line: `First part:typed@B` → `First part:@B`) or only inserts is no
 * rewrite, and is kept minimal: replaced whole, typing that arrived meanwhile inside the line
 * went to its start, before `First part:` (trial s57a; decision 262).
 */
function rewrites(op: TextOp): boolean {
  return op.some((c) => typeof c === 'string') && op.some((c) => typeof c === 'object');
}

/** `a` into `b` (covering all of `a`) by a character diff when under the bounds' `charMax` together, else whole. */
function byChar(a: string, b: string, bounds: Bounds): TextOp {
  if (a === b) return a ? [a.length] : [];
  if (!a || !b || a.length + b.length > bounds.charMax) return plain(a, b);
  return covering(charDiff(a, b, bounds.semantic), a.length);
}

/**
 * A diff of `a` and `b` by whole lines (each with its line end), as fast-diff's blocks, each with
 * its lines: each distinct line stands for one character, outside the surrogates, and the two
 * strings of such characters are diffed. Undefined past LINE_DIFF_MAX lines or ~63,000 distinct ones.
 */
function lineDiff(a: string, b: string): Array<[number, string[]]> | undefined {
  const la = a.split(/(?<=\n)/);
  const lb = b.split(/(?<=\n)/);
  if (la.length + lb.length > LINE_DIFF_MAX) return undefined;
  const codes = new Map<string, string>();
  let next = 0x100;
  const encode = (lines: string[]): string | undefined => {
    let out = '';
    for (const line of lines) {
      let c = codes.get(line);
      if (c === undefined) {
        if (next === 0xd800) next = 0xe000;
        if (next > 0xffff) return undefined;
        c = String.fromCharCode(next++);
        codes.set(line, c);
      }
      out += c;
    }
    return out;
  };
  const ea = encode(la);
  const eb = encode(lb);
  if (ea === undefined || eb === undefined) return undefined;
  const out: Array<[number, string[]]> = [];
  let ia = 0;
  let ib = 0;
  for (const [kind, run] of diff(ea, eb)) {
    const n = run.length;
    if (kind === diff.INSERT) {
      out.push([kind, lb.slice(ib, ib + n)]);
      ib += n;
    } else {
      out.push([kind, la.slice(ia, ia + n)]);
      ia += n;
      if (kind === diff.EQUAL) ib += n;
    }
  }
  return out;
}

/** `op` (made on a text of `length` characters, and maybe ending early) with its last retain made explicit. */
function covering(op: TextOp, length: number): TextOp {
  let used = 0;
  for (const c of op) {
    if (typeof c === 'number') used += c;
    else if (typeof c === 'object') used += c.d;
  }
  return used < length ? [...op, length - used] : op;
}
