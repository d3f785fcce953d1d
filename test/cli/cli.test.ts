// The `chorus` command as scripts and editors use it: help, exit codes, one daemon per folder
// even when many editors start it at once, stale locks and sockets, clean stops.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { decodeJoinCode, isReadOnly } from '../../daemon/src/net/join-code.js';
import { daemonsFor, stopIfRunning } from '../support/cli.js';
import { CLI, REPO } from '../support/paths.js';
import { tempProject } from '../support/project-dir.js';
import { ScriptedEditor } from '../support/scripted-editor.js';

const chorus = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60000 });
const dirs: string[] = [];
const editors: ScriptedEditor[] = [];
afterEach(() => {
  for (const e of editors.splice(0)) e.close();
  for (const d of dirs.splice(0)) stopIfRunning(d);
});
function project(files: Record<string, string> = {}): string {
  const d = tempProject(files);
  dirs.push(d);
  return d;
}

it('has help for every command', () => {
  const top = chorus('--help');
  expect(top.status).toBe(0);
  for (const cmd of ['share', 'join', 'daemon', 'status', 'connect', 'relay', 'stop']) {
    expect(top.stdout).toContain(cmd);
    const r = chorus(cmd, '--help');
    expect(r.status, cmd).toBe(0);
    expect(r.stdout).toMatch(/Usage: chorus/);
  }
});

it('says clearly when no daemon runs, with exit code 4', () => {
  // A project (it has a .chorus/, as after `chorus stop`); a folder that is none is told so instead
  // (test/cli/lifecycle.test.ts).
  const d = project();
  fs.mkdirSync(path.join(d, '.chorus'));
  const r = chorus('status', d);
  expect(r.status).toBe(4);
  expect(r.stderr).toContain(`no daemon running for ${d}; start it with \`chorus start ${d}\` (or open the project in an editor with Chorus)`);
  expect(chorus('stop', d).stderr).toContain('no daemon running');
});

it('starts exactly one daemon when several editors connect at the same moment', async () => {
  const d = project({ 'a.txt': 'hi\n' });
  fs.mkdirSync(path.join(d, '.chorus')); // a project: `connect` makes none (test/cli/connect-outside.test.ts)
  const started = Array.from({ length: 4 }, (_, i) => ScriptedEditor.connect(d, { name: `ed${i}` }).editor);
  editors.push(...started);
  await Promise.all(started.map((e) => e.init()));
  await Promise.all(started.map((e) => e.open('a.txt')));
  const st = JSON.parse(chorus('status', d, '--json').stdout);
  // Exactly the four editors: the status command's own connection is not listed as one.
  expect(st.editors.map((e: { name: string }) => e.name).sort()).toEqual(['ed0', 'ed1', 'ed2', 'ed3']);
  expect(st.buffers).toEqual([{ path: 'a.txt', length: 3, editors: 4 }]);
  const lock = JSON.parse(fs.readFileSync(path.join(d, '.chorus', 'daemon.lock'), 'utf8'));
  expect(lock.pid).toBe(st.pid);
  const serving = fs.readFileSync(path.join(d, '.chorus', 'daemon.log'), 'utf8').split('\n').filter((l) => l.includes(' serving '));
  expect(serving).toHaveLength(1);
  await started[0]!.edit('a.txt', 0, 0, '>');
  await started[3]!.waitFor(() => started[3]!.text('a.txt') === '>hi\n', 'the edit on the last editor');
});

it('refuses a second daemon for the same folder with exit code 3', async () => {
  const d = project();
  const first = spawn(process.execPath, [CLI, 'daemon', d], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  first.stderr.on('data', (c) => (err += c));
  for (let i = 0; i < 200 && !err.includes('serving'); i++) await new Promise((r) => setTimeout(r, 50));
  const second = chorus('daemon', d);
  expect(second.status).toBe(3);
  expect(second.stderr).toMatch(/already running for .*; stop it with `chorus stop/);
  // SIGTERM: a clean stop releases the lock and removes the socket.
  first.kill('SIGTERM');
  expect(await new Promise((r) => first.on('exit', r))).toBe(0);
  expect(fs.existsSync(path.join(d, '.chorus', 'daemon.lock'))).toBe(false);
  expect(fs.existsSync(path.join(d, '.chorus', 'daemon.sock'))).toBe(false);
});

it('replaces a stale lock and socket left by a killed daemon', async () => {
  const d = project({ 'a.txt': 'x' });
  fs.mkdirSync(path.join(d, '.chorus'), { recursive: true });
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  fs.writeFileSync(path.join(d, '.chorus', 'daemon.lock'), JSON.stringify({ pid: Number(dead.stdout) }));
  fs.writeFileSync(path.join(d, '.chorus', 'daemon.sock'), 'stale');
  const { editor } = ScriptedEditor.connect(d);
  editors.push(editor);
  await editor.init();
  expect(await editor.open('a.txt')).toBe('x');
  const st = JSON.parse(chorus('status', d, '--json').stdout);
  expect(st.pid).not.toBe(Number(dead.stdout));
});

it('stops a daemon, writing its files first', async () => {
  const d = project({ 'a.txt': 'x' });
  fs.mkdirSync(path.join(d, '.chorus')); // a project: `connect` makes none
  const { editor } = ScriptedEditor.connect(d);
  editors.push(editor);
  await editor.init();
  await editor.open('a.txt');
  await editor.edit('a.txt', 1, 1, 'yz');
  const r = chorus('stop', d);
  expect(r.status).toBe(0);
  expect(r.stderr).toMatch(/stopped the daemon/);
  expect(fs.readFileSync(path.join(d, 'a.txt'), 'utf8')).toBe('xyz');
  expect(chorus('status', d).status).toBe(4);
});

// The tests' own cleanup (test/support/cli.ts) stops daemons as `chorus stop` does but from the
// test's process, without starting a `chorus stop` (~0.3 s of CPU each, a few hundred a run).
it('stopIfRunning stops a daemon as chorus stop does, writing its files first, without running chorus stop', async () => {
  const d = project({ 'a.txt': 'x' });
  fs.mkdirSync(path.join(d, '.chorus'));
  const { editor } = ScriptedEditor.connect(d);
  editors.push(editor);
  await editor.init();
  await editor.open('a.txt');
  await editor.edit('a.txt', 1, 1, 'yz');
  expect(daemonsFor(d)).toHaveLength(1);
  stopIfRunning(d);
  expect(daemonsFor(d)).toEqual([]); // gone, not only its lock: the folder may be removed now
  expect(fs.readFileSync(path.join(d, 'a.txt'), 'utf8')).toBe('xyz');
  // `chorus stop` leaves this mark (decision 174); no command ran, so none is here.
  expect(fs.existsSync(path.join(d, '.chorus', 'stopped'))).toBe(false);
  expect(chorus('status', d).status).toBe(4);
});

it('share prints a join code as JSON, and join fills another folder', () => {
  const a = project({ 'src/main.rs': 'fn main() {}\n', 'README': 'hello\n' });
  const b = project();
  const share = chorus('share', a, '--json', '--host', '127.0.0.1');
  expect(share.status).toBe(0);
  const { code } = JSON.parse(share.stdout);
  expect(code).toMatch(/^chorus2\./);
  const join = chorus('join', code, b, '--host', '127.0.0.1', '--json');
  expect(join.status).toBe(0);
  expect(JSON.parse(join.stdout)).toMatchObject({ files: 2, root: b });
  expect(fs.readFileSync(path.join(b, 'src', 'main.rs'), 'utf8')).toBe('fn main() {}\n');
  const st = JSON.parse(chorus('status', b, '--json').stdout);
  expect(st.session).toEqual({ role: 'guest', readOnly: false, listening: [expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+$/)], webrtc: true });
  expect(st.peers[0]).toMatchObject({ state: 'connected' });
  // The settings sharing started with, in words (the new-user trial found them nowhere).
  expect(chorus('status', a).stdout).toMatch(/^session {3}sharing; listening on ws:\/\/127\.0\.0\.1:\d+$/m);
  const bad = chorus('join', 'not-a-code', project());
  expect(bad.status).toBe(1);
  expect(bad.stderr).toMatch(/not a Chorus join code/);
});

it("join's progress on stderr ends with its done line, however fast the join", () => {
  const a = project(Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`f${i}.txt`, `file ${i}\n`])));
  const { code } = JSON.parse(chorus('share', a, '--json', '--host', '127.0.0.1').stdout) as { code: string };
  const b = project();
  const join = chorus('join', code, b, '--host', '127.0.0.1');
  expect(join.status, join.stderr).toBe(0);
  const lines = join.stderr.trim().split('\n');
  expect(lines.at(-1), join.stderr).toMatch(/^done: 300\/300 files, 0\.0\/0\.0 MB$/);
});

it('join - reads the code from standard input, so the running join\'s command line never holds it', async () => {
  const a = project({ 'a.txt': 'from a\n' });
  const b = project();
  const share = chorus('share', a, '--json', '--host', '127.0.0.1');
  expect(share.status, share.stderr).toBe(0);
  const { code } = JSON.parse(share.stdout) as { code: string };
  const child = spawn(process.execPath, [CLI, 'join', '-', b, '--host', '127.0.0.1', '--json'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    // What `ps` shows while the join waits for its code: no part of the code.
    const cmdline = fs.readFileSync(`/proc/${child.pid}/cmdline`, 'utf8');
    expect(cmdline).toContain('join\0-\0');
    expect(cmdline).not.toContain(code.slice('chorus2.'.length, 'chorus2.'.length + 16));
    child.stdin.end(`${code}\n`);
    expect(await exited, stderr).toBe(0);
  } finally {
    child.kill();
  }
  expect(JSON.parse(stdout)).toMatchObject({ files: 1, root: b });
  expect(fs.readFileSync(path.join(b, 'a.txt'), 'utf8')).toBe('from a\n');
});

it('share gives the code each call asks for: read-only with --read-only, else one that can write, on a folder already shared', () => {
  const a = project({ 'hello.txt': 'hello\n' });
  const codeOf = (...flags: string[]) => {
    const r = chorus('share', a, '--json', '--host', '127.0.0.1', ...flags);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { code: string; readOnly: boolean };
    expect(isReadOnly(decodeJoinCode(out.code)), `${flags.join(' ')}: the code's credentials`).toBe(out.readOnly);
    return out;
  };
  // Shared read-only first: a later plain share still gives a code that can write.
  expect(codeOf('--read-only').readOnly).toBe(true);
  expect(codeOf().readOnly).toBe(false);
  const readOnly = codeOf('--read-only');
  expect(readOnly.readOnly).toBe(true);
  const human = chorus('share', a, '--read-only', '--host', '127.0.0.1');
  expect(human.stdout).toContain('Guests with this code can read but not write.');
  // A guest with the read-only code cannot edit, whatever it asks for; nor can it give a writer code.
  const b = project();
  expect(chorus('join', readOnly.code, b, '--host', '127.0.0.1', '--json').status).toBe(0);
  expect(JSON.parse(chorus('status', b, '--json').stdout).session).toEqual({ role: 'guest', readOnly: true, listening: [expect.any(String)], webrtc: true });
  const fromGuest = chorus('share', b, '--json');
  expect(JSON.parse(fromGuest.stdout).readOnly).toBe(true);
  expect(isReadOnly(decodeJoinCode(JSON.parse(fromGuest.stdout).code))).toBe(true);
  // Listening settings given again with other values are named, not silently dropped.
  const moved = chorus('share', a, '--host', '127.0.0.2', '--no-webrtc');
  expect(moved.status).toBe(0);
  expect(moved.stderr).toContain(`${a} is already shared: --host, --no-webrtc apply only when sharing starts`);
});

it('refuses a --relay that is not a relay address before starting anything; a saved one is dropped', () => {
  const a = project({ 'hello.txt': 'hello\n' });
  for (const relay of ['http://nope', 'relay.example:7420', 'ws://']) {
    const r = chorus('share', a, '--relay', relay, '--host', '127.0.0.1');
    expect(r.status, relay).toBe(1);
    expect(r.stderr).toContain(`--relay ${JSON.stringify(relay)}: a relay address is ws://host:port or wss://host:port`);
    expect(r.stderr).not.toMatch(/join code|\n\s+at /); // not a "damaged code", no stack
  }
  expect(chorus('status', a).status).toBe(4); // no daemon was started
  expect(fs.existsSync(path.join(a, '.chorus', 'session.json'))).toBe(false);
  // A folder an older Chorus shared with such an address: it is dropped and sharing works.
  expect(chorus('share', a, '--host', '127.0.0.1', '--json').status).toBe(0);
  expect(chorus('stop', a).status).toBe(0);
  const file = path.join(a, '.chorus', 'session.json');
  fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), relayUrl: 'http://nope' }));
  const again = chorus('share', a, '--host', '127.0.0.1', '--json');
  expect(again.status, again.stderr).toBe(0);
  expect(decodeJoinCode(JSON.parse(again.stdout).code).relayUrl).toBeUndefined();
  expect(JSON.parse(fs.readFileSync(file, 'utf8')).relayUrl).toBeUndefined();
});

it('keeps the generated protocol files in step with protocol/src', () => {
  const r = spawnSync(process.execPath, [path.join(REPO, 'protocol/scripts/generate.mjs'), '--check'], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
});
