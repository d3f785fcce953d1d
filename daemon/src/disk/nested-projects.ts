/**
 * Folders inside a project that are Chorus projects of their own: they hold a `.chorus/` folder
 * (a daemon ran there: someone shared or joined into it). Such a folder is never read, shared,
 * watched or written by the project around it.
 *
 * Why: two daemons whose folders nest would each share the other's files as their own. Joining
 * a session into a folder that holds the sharing folder (or into a folder inside it) copied the
 * files into themselves without end — `inner/inner/inner/…` on every peer within seconds — until
 * a daemon stopped. A folder belongs to the nearest `.chorus/` above it, as editors already find
 * it (lifecycle/daemon-process.ts `findProject`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { CHORUS_DIR } from '../workspace/path-rules.js';

/** Does the project folder `dir` (project-relative, not the root) hold a `.chorus/` of its own? */
export function holdsProject(rootDir: string, dir: string): boolean {
  try {
    return fs.lstatSync(path.join(rootDir, dir, CHORUS_DIR), { throwIfNoEntry: false })?.isDirectory() === true;
  } catch {
    return false; // not a folder (ENOTDIR), or unreadable: nothing of its own there
  }
}

/**
 * The outermost folder at or above `rel` (a project-relative path; with a trailing `/` it names a
 * folder, which counts itself) that is a project of its own, or undefined. `holds` answers for
 * one folder (`holdsProject`, or a cached version of it).
 */
export function nestedProjectOf(rel: string, holds: (dir: string) => boolean): string | undefined {
  const isDir = rel.endsWith('/');
  const parts = rel.replace(/\/$/, '').split('/');
  const last = isDir ? parts.length : parts.length - 1;
  for (let i = 1; i <= last; i++) {
    const dir = parts.slice(0, i).join('/');
    if (holds(dir)) return dir;
  }
  return undefined;
}

/** What the daemon of the project around says when a folder in it becomes a project of its own while it runs. */
export function becameProject(dir: string): string {
  return `not sharing ${dir}/ from now on: it became a Chorus project of its own (a .chorus folder appeared in it: someone shared or joined a session there); its own daemon shares it`;
}
