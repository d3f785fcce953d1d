// `chorus connect` on a folder inside a Chorus project refuses and makes nothing (it nested a
// second project, with its own daemon, in the first). A plain folder becomes a project, as the
// editor protocol's public way in (../shared/checks drive it so); editors sharing a new folder
// pass `--create`, which also makes one inside another project.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { chorus, daemonsFor, stopAfterEach, waitUntilAnswers } from '../support/cli.js';
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
  expect(r.stderr).toContain(`chorus: ${folder} is not a Chorus project itself but a folder inside the project`);
  expect(r.stderr).toContain('nothing was started or created');
  expect(r.stdout).toBe('');
  expect(fs.existsSync(path.join(folder, '.chorus'))).toBe(false);
  expect(daemonsFor(folder)).toEqual([]);
}

it('makes a plain folder a project and serves it, named or current', async () => {
  for (const named of [true, false]) {
    const plain = tempDir();
    used.push(plain);
    fs.writeFileSync(path.join(plain, 'notes.txt'), 'mine\n');
    const proc = spawn(process.execPath, named ? [CLI, 'connect', plain] : [CLI, 'connect'], { stdio: ['pipe', 'ignore', 'pipe'], cwd: plain });
    spawned.push(proc);
    let err = '';
    proc.stderr!.on('data', (c) => (err += c));
    await waitUntilAnswers('the daemon it started to answer', plain, () => proc.exitCode !== null, 60_000);
    expect(proc.exitCode, err).toBeNull();
    const exited = new Promise<number | null>((r) => proc.once('exit', r));
    proc.stdin!.end();
    expect(await exited, err).toBe(0);
    expect(fs.readFileSync(path.join(plain, 'notes.txt'), 'utf8')).toBe('mine\n');
  }
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
  await waitUntilAnswers('the daemon it started to answer', plain, () => proc.exitCode !== null, 60_000);
  expect(proc.exitCode, err).toBeNull();
  expect(fs.existsSync(path.join(plain, '.chorus', 'daemon.lock'))).toBe(true);
  const exited = new Promise<number | null>((r) => proc.once('exit', r));
  proc.stdin!.end();
  expect(await exited, err).toBe(0);
});

// `chorus connect --help` said it "refuses a folder that is not a Chorus project" while a plain
// folder became one (as the README, the editors and the test above have it): the help now says
// what it does.
it('--help says what connect does with a plain folder and with one inside a project', () => {
  const r = chorus(['connect', '--help']);
  expect(r.status, r.stderr).toBe(0);
  const help = r.stdout.replace(/\s+/g, ' ');
  expect(help).not.toContain('refuses a folder that is not a Chorus project');
  expect(help).toContain('a folder with no project becomes one');
  expect(help).toContain('a folder inside a project is refused');
  expect(help).toContain('even inside another project');
});
