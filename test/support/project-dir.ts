import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A fresh temporary project folder with the given files. */
export function tempProject(files: Record<string, string> = {}, prefix = 'chorus-test-'): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

export async function waitForFile(file: string, pred: (text: string) => boolean, what: string, ms = 30000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const t = fs.readFileSync(file, 'utf8');
      if (pred(t)) return t;
    } catch {
      // not there yet
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 30));
  }
}

/** A seeded PRNG, shared with the benchmark, so randomised tests replay exactly. */
export { seeded } from '../../bench/src/random.js';
