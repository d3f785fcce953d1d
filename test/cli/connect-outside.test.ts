// `chorus connect` on a folder that is not a Chorus project refuses and makes nothing (it made a
// `.chorus/` and started a daemon there, a stray project for a person or script that called it on
// any folder). Editors sharing a new folder say so with `--create`.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { chorus, daemonsFor, stopAfterEach, waitUntil } from '../support/cli.js';
import { CLI } from '../support/paths.js';
import { tempDir, tempProject } from '../support/project-dir.js';

const used = stopAfterEach();
const spawned: ReturnType<typeof spawn>[] = [];
afterEach(() => {
  for (const c of spawned.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** What a refusal says and leaves: exit 1, the words a person acts on, no daemon, no `.chorus/`. */
function expectRefused(r: ReturnType<typeof chorus>, folder: string): void {
  expect(r.status, r.stderr).toBe(1);
  expect(r.stderr).toContain(`chorus: ${folder} is not a Chorus project`);
  expect(r.stderr).toContain('nothing was started or created');
  expect(r.stdout).toBe('');
  expect(fs.existsSync(path.join(folder, '.chorus'))).toBe(false);
  expect(daemonsFor(folder)).toEqual([]);
}

it('refuses a folder with no .chorus/ and no project above it, named or current, and makes nothing', () => {
  const plain = tempDir();
  used.push(plain);
  fs.writeFileSync(path.join(plain, 'notes.txt'), 'mine\n');
  // Standard input ends at once: the old command bridged it to a daemon it had just started.
  const named = chorus(['connect', plain], { input: '', timeoutMs: 30_000 });
  expectRefused(named, plain);
  expect(named.stderr).toContain(`\`chorus share ${plain}\``);
  expect(named.stderr).toContain(`\`chorus join <code> ${plain}\``);
  const here = chorus(['connect'], { cwd: plain, input: '', timeoutMs: 30_000 });
  expectRefused(here, plain);
  expect(fs.readdirSync(plain)).toEqual(['notes.txt']);
});

it('refuses a folder inside a project, naming the project, rather than nesting a new one', () => {
  const d = tempProject({ 'src/a.txt': 'a\n' });
  fs.mkdirSync(path.join(d, '.chorus'));
  used.push(d);
  const inner = path.join(d, 'src');
  used.push(inner); // a daemon a regression started there is stopped too
  const r = chorus(['connect', inner], { input: '', timeoutMs: 30_000 });
  expectRefused(r, inner);
  expect(r.stderr).toContain(`inside the project ${d}; try \`chorus connect ${d}\``);
  expect(fs.readdirSync(path.join(d, '.chorus'))).toEqual([]); // its daemon was not started either
});

it('--create makes the folder a project and serves it (an editor sharing a new folder)', async () => {
  const plain = tempDir();
  used.push(plain);
  const proc = spawn(process.execPath, [CLI, 'connect', '--create', plain], { stdio: ['pipe', 'ignore', 'pipe'] });
  spawned.push(proc);
  let err = '';
  proc.stderr!.on('data', (c) => (err += c));
  await waitUntil('the daemon it started to answer', () => chorus(['status', plain]).status === 0 || proc.exitCode !== null, 60_000);
  expect(proc.exitCode, err).toBeNull();
  expect(fs.existsSync(path.join(plain, '.chorus', 'daemon.lock'))).toBe(true);
  const exited = new Promise<number | null>((r) => proc.once('exit', r));
  proc.stdin!.end();
  expect(await exited, err).toBe(0);
});
