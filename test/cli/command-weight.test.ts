// A `chorus` command that only talks to a daemon (status, stop) loads the command's own modules,
// not the daemon's (decision 150). Automerge is the heaviest of those: its WebAssembly is read and
// compiled on load, ~0.2 s of CPU on this 2-core machine, paid by every `chorus status` and
// `chorus stop` that an editor, a script or the test suite runs. A change that made the commands
// import Automerge through a shared helper (disk/files.ts → blob-store → document-store) went
// unnoticed, so this watches for it from outside, as the installed command runs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { CLI } from '../support/paths.js';
import { tempDir } from '../support/project-dir.js';

/**
 * Run `chorus args` with a preloaded script that prints, as the process exits, every CommonJS file
 * it loaded. Automerge's bindings are CommonJS, required from the installed package whenever
 * Automerge loads (decision 150; the build fails if that changes), so they show here.
 */
function loadedBy(args: string[]): { status: number | null; stderr: string; loaded: string[] } {
  const dir = tempDir();
  const hook = path.join(dir, 'loaded.cjs');
  const out = path.join(dir, 'loaded.json');
  fs.writeFileSync(hook, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(Object.keys(require.cache))));\n`);
  const r = spawnSync(process.execPath, ['--require', hook, CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stderr: r.stderr, loaded: JSON.parse(fs.readFileSync(out, 'utf8')) as string[] };
}

it('chorus status and chorus stop, with no daemon to talk to, do not load Automerge', () => {
  const plain = tempDir(); // not a project: each command says so and exits
  for (const command of ['status', 'stop']) {
    const r = loadedBy([command, plain]);
    expect(r.stderr).toMatch(/not a Chorus project/);
    expect(r.status).not.toBe(0);
    expect(r.loaded.filter((f) => /[\\/]@automerge[\\/]/.test(f))).toEqual([]);
  }
});
