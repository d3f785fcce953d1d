/**
 * Copies of damaged or stale state the daemon keeps beside the original (`<file>.damaged-<time>`,
 * `<file>.stale-<time>`): one per recovery, so over months they pile up. Decision 153:
 * - Copies of the daemon's own bookkeeping, which holds nothing a person wrote (the disk ledger's
 *   hashes, the identity's id and name), keep only the newest KEEP_COPIES of each kind; older ones
 *   are removed and the log names them.
 * - Copies that could hold a person's work or the only way back into a session (a document's saved
 *   changes that did not load, a damaged session file with the session's secret) are never
 *   removed: the log says how many there are, where, and that they can be removed once checked.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Project } from '../project.js';
import { inWords } from '../disk/folder-writer.js';

/** How many copies of each kind of the daemon's own bookkeeping are kept. */
export const KEEP_COPIES = 3;

/** The kinds of copy: damaged (could not be read as it was) and stale (no longer describes the state). */
export type CopyKind = 'damaged' | 'stale';

/** A name for a copy of `file` kept aside now: `<file>.<kind>-<time>`, one not taken yet. */
export function copyName(file: string, kind: CopyKind): string {
  const base = `${file}.${kind}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  // Two recoveries within a millisecond (tests) must not overwrite each other's copy, and a later
  // one must sort after every earlier one of that millisecond (`copiesOf`): numbered one past the
  // highest there, not the first free name, which is `base` again once pruning removed it (the
  // newest copy was then taken for the oldest and removed at once).
  const own = path.basename(base);
  let highest = 0;
  try {
    for (const n of fs.readdirSync(path.dirname(base))) {
      if (n === own) highest = Math.max(highest, 1);
      else if (n.startsWith(own + '-')) highest = Math.max(highest, Number(n.slice(own.length + 1)) || 0);
    }
  } catch {
    // No folder yet: the name is free.
  }
  return highest === 0 ? base : `${base}-${highest + 1}`;
}

/** The copies of `file` of `kind` in its folder, oldest first (their names hold the time). */
function copiesOf(file: string, kind: CopyKind): string[] {
  const prefix = `${path.basename(file)}.${kind}-`;
  let names: string[];
  try {
    names = fs.readdirSync(path.dirname(file)).filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
  // The time (2026-12-02T06-02-19-123Z) sorts as text; a second copy in the same millisecond has `-2`.
  const key = (n: string): [string, number] => {
    const rest = n.slice(prefix.length);
    return [rest.slice(0, 24), Number(rest.slice(25)) || 1];
  };
  return names.sort((a, b) => {
    const [ta, na] = key(a);
    const [tb, nb] = key(b);
    return ta < tb ? -1 : ta > tb ? 1 : na - nb;
  });
}

/**
 * Remove all but the newest KEEP_COPIES copies of `file` of `kind`, saying in the log which were
 * removed. Only for the daemon's own bookkeeping: never for anything that could hold a person's
 * work. A copy that cannot be removed is left and said.
 */
export function pruneCopies(file: string, kind: CopyKind, log: (msg: string) => void): void {
  const copies = copiesOf(file, kind);
  const old = copies.slice(0, Math.max(0, copies.length - KEEP_COPIES));
  if (old.length === 0) return;
  const removed: string[] = [];
  const left: string[] = [];
  for (const name of old) {
    try {
      fs.rmSync(path.join(path.dirname(file), name), { recursive: true, force: true });
      removed.push(name);
    } catch (e) {
      left.push(`${name} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
  }
  const copies_ = (n: number) => `${kind} cop${n === 1 ? 'y' : 'ies'} of ${file}`;
  if (removed.length) log(`removed ${removed.length} older ${copies_(removed.length)} (the newest ${KEEP_COPIES} are kept): ${removed.join(', ')}`);
  if (left.length) log(`could not remove ${left.length} older ${copies_(left.length)}: ${left.join(', ')}`);
}

/** The names in `dir` (the store keeps its documents in one flat folder) that hold `.damaged-`. */
function damagedIn(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((n) => n.includes('.damaged-'));
  } catch {
    return [];
  }
}

/** The disk ledger's file in a project (disk/disk-ledger.ts keeps it there). */
export function ledgerFile(project: Project): string {
  return path.join(project.dotDir, 'disk', 'ledger.jsonl');
}

/**
 * On daemon start, tidy the copies of damaged and stale state in `project`'s `.chorus/` (decision
 * 153): prune the daemon's own bookkeeping to the newest few of each kind, and say how many copies
 * that are never removed are kept, and that the person may remove them.
 */
export function tidyKeptCopies(project: Project, log: (msg: string) => void): void {
  pruneDeleted(project, log);
  pruneCopies(ledgerFile(project), 'stale', log);
  pruneCopies(ledgerFile(project), 'damaged', log);
  pruneCopies(path.join(project.dotDir, 'identity.json'), 'damaged', log);
  const documents = damagedIn(project.stateDir);
  const sessions = copiesOf(project.sessionPath, 'damaged');
  const kept: string[] = [];
  if (documents.length) {
    kept.push(`${documents.length} of documents' saved state that did not load (in ${project.stateDir}, *.damaged-*: they may hold edits made before the damage)`);
  }
  if (sessions.length) kept.push(`${sessions.length} of the saved session (${path.join(project.dotDir, 'session.json.damaged-*')}: they hold the session's secret)`);
  if (kept.length === 0) return;
  log(`kept copies of damaged state, which Chorus never removes: ${kept.join('; ')}. Once you have checked that nothing in them is missing from the project, you can remove them`);
}

/** How long files a peer's deletion moved out of the folder stay in `.chorus/deleted/` (disk/materializer.ts says so when it moves them). */
export const DELETED_KEEP_MS = 14 * 24 * 3600 * 1000;

/**
 * Remove the batches in `.chorus/deleted/` (one folder per peer's deletion, named by its time)
 * older than DELETED_KEEP_MS, by the batch folder's modification time; what cannot be removed is
 * left and said.
 */
export function pruneDeleted(project: Project, log: (msg: string) => void, now = Date.now()): void {
  const dir = path.join(project.dotDir, 'deleted');
  let batches: string[];
  try {
    batches = fs.readdirSync(dir);
  } catch {
    return; // none yet
  }
  for (const b of batches) {
    const at = path.join(dir, b);
    try {
      if (now - fs.statSync(at).mtimeMs > DELETED_KEEP_MS) fs.rmSync(at, { recursive: true, force: true });
    } catch (e) {
      log(`could not remove ${at}, files a peer deleted more than ${DELETED_KEEP_MS / 86_400_000} days ago: ${inWords(e)}; you can remove it yourself`);
    }
  }
}

/**
 * Does one of the copies in `.chorus/deleted/` of project path `rel` (`a/b.txt`) hold exactly
 * `text`? Such a copy is this folder's last version of a file a peer deleted (disk/materializer.ts
 * keeps it, one batch folder per deletion): an editor re-opening `rel` with that very text had the
 * deleted file open and typed nothing since (decision 233). False when none does or none is readable.
 */
export function deletedCopyHolds(project: Project, rel: string, text: string): boolean {
  const dir = path.join(project.dotDir, 'deleted');
  let batches: string[];
  try {
    batches = fs.readdirSync(dir);
  } catch {
    return false; // none yet
  }
  const want = Buffer.from(text, 'utf8');
  for (const b of batches) {
    const copy = path.join(dir, b, ...rel.split('/'));
    try {
      const st = fs.lstatSync(copy);
      if (st.isFile() && st.size === want.length && fs.readFileSync(copy).equals(want)) return true;
    } catch {
      // not in this batch
    }
  }
  return false;
}
