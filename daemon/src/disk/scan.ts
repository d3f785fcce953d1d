/** Walks the project folder: every shared regular file, never following symbolic links. */
import fs from 'node:fs';
import path from 'node:path';
import type { IgnoreRules } from './ignore-rules.js';

export interface ScannedFile {
  rel: string;
  size: number;
}

export async function scanFolder(root: string, rules: IgnoreRules): Promise<ScannedFile[]> {
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
        const st = await fs.promises.stat(path.join(root, rel)).catch(() => undefined);
        if (st) out.push({ rel, size: st.size });
      }
      // symbolic links and special files are never shared
    }
  };
  await walk('');
  return out.sort((a, b) => a.rel.localeCompare(b.rel));
}
