/** Walks the project folder: every shared regular file, never following symbolic links. */
import fs from 'node:fs';
import path from 'node:path';
import type { IgnoreRules } from './ignore-rules.js';

export interface ScannedFile {
  rel: string;
  size: number;
}

/** Every shared regular file under `under` (a project-relative folder, '' for the whole project). */
export async function scanFolder(root: string, rules: IgnoreRules, under = ''): Promise<ScannedFile[]> {
  const out: ScannedFile[] = [];
  const walk = async (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(path.join(root, dir), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const rel = dir ? `${dir}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!rules.ignores(rel + '/')) await walk(rel);
      } else if (e.isFile() && !rules.ignores(rel)) {
        const st = await fs.promises.lstat(path.join(root, rel)).catch(() => undefined);
        if (st?.isFile()) out.push({ rel, size: st.size });
      }
      // symbolic links and special files are never shared
    }
  };
  if (under && rules.ignores(under + '/')) return out;
  await walk(under);
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}
