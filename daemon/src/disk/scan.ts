/** Walks the project folder: every shared regular file and folder, never following symbolic links. */
import fs from 'node:fs';
import path from 'node:path';
import type { IgnoreRules } from './ignore-rules.js';
import { tooLongForSystem } from './long-paths.js';

export interface ScannedFile {
  rel: string;
  size: number;
}

/** Every shared regular file under `under` (a project-relative folder, '' for the whole project). */
export async function scanFolder(root: string, rules: IgnoreRules, under = ''): Promise<ScannedFile[]> {
  return (await scanTree(root, rules, under)).files;
}

/**
 * Every shared regular file and every shared folder (empty ones too, `under` itself not
 * included) under `under`, each sorted by path; in `tooLong`, the entries left out because
 * their path is longer than the system takes (long-paths.ts; nothing below them is read); in
 * `undecodable`, those left out because their name is not UTF-8 (Node reads it with U+FFFD in
 * place of the bytes, a name no entry has, so it can be neither read nor shared).
 */
export async function scanTree(root: string, rules: IgnoreRules, under = ''): Promise<{ files: ScannedFile[]; dirs: string[]; tooLong: string[]; undecodable: string[] }> {
  const out: ScannedFile[] = [];
  const dirs: string[] = [];
  const tooLong: string[] = [];
  const undecodable: string[] = [];
  const walk = async (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(path.join(root, dir), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const rel = dir ? `${dir}/${e.name}` : e.name;
      // Only a name with U+FFFD can be a decoding's (one really named so is there by that name).
      if (e.name.includes('\ufffd') && (e.isDirectory() || e.isFile()) && !(await fs.promises.lstat(path.join(root, rel)).catch(() => undefined))) {
        if (!rules.ignores(e.isDirectory() ? rel + '/' : rel)) undecodable.push(rel);
      } else if ((e.isDirectory() || e.isFile()) && tooLongForSystem(path.join(root, rel))) {
        if (!rules.ignores(e.isDirectory() ? rel + '/' : rel)) tooLong.push(rel);
      } else if (e.isDirectory()) {
        if (rules.ignores(rel + '/')) continue;
        dirs.push(rel);
        await walk(rel);
      } else if (e.isFile() && !rules.ignores(rel)) {
        const st = await fs.promises.lstat(path.join(root, rel)).catch(() => undefined);
        if (st?.isFile()) out.push({ rel, size: st.size });
      }
      // symbolic links and special files are never shared
    }
  };
  if (under && rules.ignores(under + '/')) return { files: out, dirs, tooLong, undecodable };
  await walk(under);
  return { files: out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0)), dirs: dirs.sort(), tooLong, undecodable };
}
