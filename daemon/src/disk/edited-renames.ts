/**
 * Renames whose file was also changed: a file gone from the folder and a new one that is mostly
 * the same text (`git pull` or `git checkout` of a commit that moved and edited files, `git mv`
 * then an edit before the watcher looked, a tool that writes the new name and deletes the old).
 * FolderSync pairs exact moves by hash (`pairRenames`); these it pairs by likeness, as git does
 * (a similarity index of 50 %, git's default for `-M`). Decision 248.
 */

/** How alike two texts must be to be one file moved and edited: git's default rename threshold. */
export const SIMILAR_ENOUGH = 0.5;

/**
 * Past this many comparisons of gone files with new files of other names, only names that are
 * the same are compared: each comparison costs a pass over both texts, and a tree-wide move with
 * edits is the same names in other folders.
 */
const MAX_OTHER_NAME_PAIRS = 256;

/** Of one name, at most this many gone files are compared with a new file (see `pairEditedRenames`). */
const MAX_SAME_NAME = 8;

/** The lines of `text`, without their line ends (a last line end starts no line). */
function linesOf(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** A text as its lines, each with how many times it occurs, and its length in characters. */
interface Lines {
  counts: Map<string, number>;
  length: number;
}

function linesCounted(text: string): Lines {
  const counts = new Map<string, number>();
  for (const line of linesOf(text)) counts.set(line, (counts.get(line) ?? 0) + 1);
  return { counts, length: text.length };
}

/**
 * How much of two texts is the same lines, from 0 to 1: the characters (each line's length plus
 * its line end) of the lines both have, counted as often as both have them, over the longer
 * text's characters. Order is not looked at (a moved block is still the same file), as with git's
 * similarity index, which counts the bytes of the source found in the destination. Two empty
 * texts are 1. Linear in the texts' lengths.
 */
export function similarity(a: string, b: string): number {
  return alike(linesCounted(a), linesCounted(b));
}

/** `similarity` of two counted texts: a pass over the one with fewer distinct lines. */
function alike(a: Lines, b: Lines): number {
  const longer = Math.max(a.length, b.length);
  if (longer === 0) return 1;
  const [few, many] = a.counts.size <= b.counts.size ? [a.counts, b.counts] : [b.counts, a.counts];
  let same = 0;
  for (const [line, n] of few) {
    const m = many.get(line);
    if (m) same += Math.min(n, m) * (line.length + 1);
  }
  return Math.min(1, same / longer);
}

/** The last `n` segments of `rel` (its base name for 1), or undefined when it has fewer. */
function tail(rel: string, n: number): string | undefined {
  let at = rel.length;
  for (let i = 0; i < n; i++) {
    if (at <= 0) return undefined;
    at = rel.lastIndexOf('/', at - 1);
  }
  return rel.slice(at + 1);
}

/** How many trailing segments are matched, longest first: `src/index.ts`'s folder before any `index.ts`. */
const TAILS = [3, 2, 1];

/**
 * Pair files gone from the folder (`leavers`) with new ones (`added`) as renames `[from, to]` of
 * files that were also changed: each pair's texts are at least SIMILAR_ENOUGH alike. `textOf`
 * gives a file's text (a gone file's: what the folder last held; a new file's: what was read),
 * undefined for one that is not text or not known: such a file is never paired. A new file is
 * compared with gone files of its base name first: at most MAX_SAME_NAME of them, those whose
 * last folders have the same names as its own first (`a/src/index.ts` for `b/src/index.ts`).
 * Then, when few files are left over (at most MAX_OTHER_NAME_PAIRS comparisons), with gone files
 * of other names too. The most alike wins, then the first in order; each file is paired once.
 * Each text is counted once; each comparison is a pass over one of the two texts' lines.
 */
export function pairEditedRenames(
  leavers: readonly string[],
  added: readonly string[],
  textOf: (rel: string) => string | undefined,
): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (!leavers.length || !added.length) return out;
  const counted = new Map<string, Lines | null>();
  const linesFor = (rel: string): Lines | undefined => {
    let c = counted.get(rel);
    if (c === undefined) {
      const text = textOf(rel);
      c = text === undefined ? null : linesCounted(text);
      counted.set(rel, c);
    }
    return c ?? undefined;
  };
  // Gone files by their last 1, 2 and 3 segments, each list in order; a list's taken files are
  // passed over once (`at`), so a move of thousands of files of one name stays linear.
  const byTail = new Map<string, { list: string[]; at: number }>();
  for (const rel of leavers) {
    for (const n of TAILS) {
      const key = tail(rel, n);
      if (key === undefined) continue;
      const k = `${n}:${key}`;
      const q = byTail.get(k);
      if (q) q.list.push(rel);
      else byTail.set(k, { list: [rel], at: 0 });
    }
  }
  const taken = new Set<string>();
  const sameName = (to: string): string[] => {
    const found: string[] = [];
    for (const n of TAILS) {
      const key = tail(to, n);
      const q = key === undefined ? undefined : byTail.get(`${n}:${key}`);
      if (!q) continue;
      while (q.at < q.list.length && taken.has(q.list[q.at]!)) q.at++;
      for (let i = q.at; i < q.list.length && found.length < MAX_SAME_NAME; i++) {
        const rel = q.list[i]!;
        if (!taken.has(rel) && !found.includes(rel)) found.push(rel);
      }
      if (found.length >= MAX_SAME_NAME) break;
    }
    return found;
  };
  const best = (to: string, candidates: readonly string[]): string | undefined => {
    const lines = linesFor(to);
    if (lines === undefined) return undefined;
    let found: string | undefined;
    let score = SIMILAR_ENOUGH;
    for (const from of candidates) {
      if (taken.has(from)) continue;
      const g = linesFor(from);
      if (g === undefined) continue;
      const s = alike(g, lines);
      if (s > score || (s === score && found === undefined)) {
        found = from;
        score = s;
      }
    }
    return found;
  };
  const left: string[] = [];
  for (const to of added) {
    if (linesFor(to) === undefined) continue;
    const from = best(to, sameName(to));
    if (from === undefined) left.push(to);
    else {
      taken.add(from);
      out.push([from, to]);
    }
  }
  const others = leavers.filter((rel) => !taken.has(rel));
  if (left.length * others.length > MAX_OTHER_NAME_PAIRS) return out;
  for (const to of left) {
    const from = best(to, others);
    if (from === undefined) continue;
    taken.add(from);
    out.push([from, to]);
  }
  return out;
}
