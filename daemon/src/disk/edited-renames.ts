/**
 * Renames whose file was also changed: a file gone from the folder and a new one that is mostly
 * the same text (`git pull` or `git checkout` of a commit that moved and edited files, `git mv`
 * then an edit before the watcher looked, a tool that writes the new name and deletes the old).
 * FolderSync pairs exact moves by hash (`pairRenames`); these it pairs by likeness, as git does
 * (a similarity index of 50 %, git's default for `-M`). Decision 248.
 */
import path from 'node:path';

/** How alike two texts must be to be one file moved and edited: git's default rename threshold. */
export const SIMILAR_ENOUGH = 0.5;

/**
 * Past this many comparisons of gone files with new files of other names, only names that are
 * the same are compared: each comparison costs a pass over both texts, and a tree-wide move with
 * edits is the same names in other folders.
 */
const MAX_OTHER_NAME_PAIRS = 256;

/** Of one name, at most this many gone files are compared with a new file. */
const MAX_SAME_NAME = 16;

/** The lines of `text`, without their line ends (a last line end starts no line). */
function linesOf(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** The lines of `text` as a multiset: line → how many times it occurs. */
function lineCounts(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of linesOf(text)) out.set(line, (out.get(line) ?? 0) + 1);
  return out;
}

/**
 * How much of two texts is the same lines, from 0 to 1: the characters (each line's length plus
 * its line end) of the lines both have, counted as often as both have them, over the longer
 * text's characters. Order is not looked at (a moved block is still the same file), as with git's
 * similarity index, which counts the bytes of the source found in the destination. Two empty
 * texts are 1. Linear in the texts' lengths.
 */
export function similarity(a: string, b: string): number {
  return similarityTo(lineCounts(a), a.length, b);
}

function similarityTo(counts: ReadonlyMap<string, number>, length: number, b: string): number {
  const longer = Math.max(length, b.length);
  if (longer === 0) return 1;
  const left = new Map(counts);
  let same = 0;
  for (const line of linesOf(b)) {
    const n = left.get(line);
    if (!n) continue;
    left.set(line, n - 1);
    same += line.length + 1;
  }
  return Math.min(1, same / longer);
}

/**
 * Pair files gone from the folder (`leavers`) with new ones (`added`) as renames `[from, to]` of
 * files that were also changed: each pair's texts are at least SIMILAR_ENOUGH alike. `textOf`
 * gives a file's text (a gone file's: what the folder last held; a new file's: what was read),
 * undefined for one that is not text or not known: such a file is never paired. A new file is
 * compared with gone files of its base name first (at most MAX_SAME_NAME of them), and, when few
 * files are left over (at most MAX_OTHER_NAME_PAIRS comparisons), with gone files of other names
 * too. The most alike wins, then the first in order; each file is paired once.
 */
export function pairEditedRenames(
  leavers: readonly string[],
  added: readonly string[],
  textOf: (rel: string) => string | undefined,
): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (!leavers.length || !added.length) return out;
  const gone = new Map<string, { counts: Map<string, number>; length: number }>();
  const byName = new Map<string, string[]>();
  const counted = (rel: string) => {
    let g = gone.get(rel);
    if (g === undefined) {
      const text = textOf(rel);
      if (text === undefined) return undefined;
      g = { counts: lineCounts(text), length: text.length };
      gone.set(rel, g);
    }
    return g;
  };
  for (const rel of leavers) {
    const name = path.posix.basename(rel);
    const list = byName.get(name);
    if (list) list.push(rel);
    else byName.set(name, [rel]);
  }
  const taken = new Set<string>();
  const newTexts = new Map<string, string>();
  const best = (to: string, candidates: readonly string[]): string | undefined => {
    const text = newTexts.get(to);
    if (text === undefined) return undefined;
    let found: string | undefined;
    let score = SIMILAR_ENOUGH;
    for (const from of candidates) {
      if (taken.has(from)) continue;
      const g = counted(from);
      if (g === undefined) continue;
      const s = similarityTo(g.counts, g.length, text);
      if (s > score || (s === score && found === undefined)) {
        found = from;
        score = s;
      }
    }
    return found;
  };
  const pair = (from: string, to: string) => {
    taken.add(from);
    out.push([from, to]);
  };
  const left: string[] = [];
  for (const to of added) {
    const text = textOf(to);
    if (text === undefined) continue;
    newTexts.set(to, text);
    const from = best(to, (byName.get(path.posix.basename(to)) ?? []).slice(0, MAX_SAME_NAME));
    if (from !== undefined) pair(from, to);
    else left.push(to);
  }
  const others = leavers.filter((rel) => !taken.has(rel));
  if (left.length * others.length > MAX_OTHER_NAME_PAIRS) return out;
  for (const to of left) {
    const from = best(to, others);
    if (from !== undefined) pair(from, to);
  }
  return out;
}
