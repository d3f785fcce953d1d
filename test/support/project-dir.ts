import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Every temporary folder a test file makes through these helpers; removed when the file's tests
 * are done, passed or failed (test/support/each-file.ts; test/support/global-setup.ts reports any
 * that escape).
 */
const made = new Set<string>();

/**
 * Remove every folder `tempDir` and `tempProject` made since the last call. Called after each test
 * file by test/support/each-file.ts, a setup file: not by an `afterAll` here, which would run only
 * after the first file that imports this module in a worker that runs several files in one
 * process (the "shared" project in vitest.config.ts, decision 209).
 */
export function removeTempDirs(): void {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  made.clear();
}

/** A fresh empty temporary folder (its real path), removed after the test file. */
export function tempDir(prefix = 'chorus-test-'): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  made.add(dir);
  return dir;
}

/** A fresh temporary project folder with the given files, removed after the test file. */
export function tempProject(files: Record<string, string> = {}, prefix = 'chorus-test-'): string {
  const dir = tempDir(prefix);
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
