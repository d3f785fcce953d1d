// The daemon's lock and saved files as a new user (or an attacker) may leave them (decision 138):
// a stale lock naming a live program that is not a daemon, a folder that is not a project, a
// damaged session or identity file. Nothing unconfirmed is ever signalled, nothing is lost.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { chorus, daemonsFor, stopAfterEach, waitUntil } from '../support/cli.js';
import { processStart } from '../../daemon/src/lifecycle/lock.js';
import { CLI } from '../support/paths.js';
import { tempDir, tempProject } from '../support/project-dir.js';

const used = stopAfterEach();
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** A live process that is no daemon (killed after the test). */
function unrelated(): ChildProcess {
  const sleeper = spawn('sleep', ['1000'], { stdio: 'ignore' });
  children.push(sleeper);
  return sleeper;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A project folder (with `.chorus/`, as after a `chorus stop`), its daemon stopped after the test. */
function project(files: Record<string, string> = {}): string {
  const d = tempProject(files);
  fs.mkdirSync(path.join(d, '.chorus'));
  used.push(d);
  return d;
}

/** What `chorus status --json` prints (the fields these tests read). */
interface StatusJson {
  pid: number;
  session: unknown;
  peer: { id: string; name: string };
}

/**
 * `chorus daemon dir` in the foreground, as a person runs it; resolves with its log once it
 * serves, and with the first `chorus status --json` that answered (the check that it is ready).
 */
async function foregroundDaemon(dir: string): Promise<{ child: ChildProcess; log: () => string; status: StatusJson }> {
  const child = spawn(process.execPath, [CLI, 'daemon', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let log = '';
  child.stderr!.on('data', (c) => (log += c));
  await waitUntil('the daemon to serve', () => log.includes(' serving ') || child.exitCode !== null, 30_000);
  expect(child.exitCode, log).toBeNull();
  let status: StatusJson | undefined;
  await waitUntil('the daemon to be ready', () => {
    const r = chorus(['status', dir, '--json']);
    if (r.status === 0) status = JSON.parse(r.stdout) as StatusJson;
    return status !== undefined;
  }, 30_000);
  return { child, log: () => log, status: status! };
}

async function stopped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

it('a stale lock naming a live program that is no daemon: stop leaves it alone, daemon takes the lock over, status agrees', async () => {
  const d = project({ 'a.txt': 'a\n' });
  const lock = path.join(d, '.chorus', 'daemon.lock');
  const sleeper = unrelated();
  const pid = sleeper.pid!;
  fs.writeFileSync(lock, JSON.stringify({ pid, started: '2026-01-01T00:00:00Z' }));

  const stop = chorus(['stop', d]);
  expect(stop.status).toBe(4);
  expect(stop.stderr).toContain(`no daemon running for ${d}; nothing to stop`);
  expect(stop.stderr).toMatch(/is stale: pid \d+ is not a chorus daemon for this folder \(it runs `sleep 1000`\)/);
  await new Promise((r) => setTimeout(r, 200));
  expect(alive(pid)).toBe(true);
  expect(sleeper.exitCode).toBeNull();
  expect(fs.readFileSync(lock, 'utf8')).toContain(String(pid)); // left as it was

  const status = chorus(['status', d]);
  expect(status.status).toBe(4);
  expect(status.stderr).toContain(`no daemon running for ${d}; start it with \`chorus start ${d}\` (or open the project in an editor with Chorus)`);

  // What status said is true: a daemon starts, and says it took the stale lock over.
  const { child, log, status: st } = await foregroundDaemon(d);
  expect(log()).toMatch(/took over the stale lock .*daemon\.lock: pid \d+ is not a chorus daemon for this folder/);
  expect(st.pid).toBe(child.pid);
  expect(JSON.parse(fs.readFileSync(lock, 'utf8'))).toMatchObject({ pid: child.pid, root: d, procStart: expect.any(String) });

  const again = chorus(['stop', d]);
  expect(again.status, again.stderr).toBe(0);
  expect(again.stderr).toContain(`stopped the daemon for ${d} (pid ${child.pid})`);
  await new Promise((r) => child.once('exit', r));
  expect(alive(pid)).toBe(true);
  expect(daemonsFor(d)).toEqual([]);
});

it('a lock whose pid was reused (another start time) is stale: nothing is signalled', async () => {
  const d = project();
  const sleeper = unrelated();
  // The current format, as a daemon writes it, but its process started at another time.
  fs.writeFileSync(path.join(d, '.chorus', 'daemon.lock'), JSON.stringify({ pid: sleeper.pid, root: d, procStart: '1' }));
  const stop = chorus(['stop', d]);
  expect(stop.status).toBe(4);
  expect(stop.stderr).toMatch(/now belongs to another program/);
  expect(chorus(['status', d]).status).toBe(4);
  await new Promise((r) => setTimeout(r, 200));
  expect(alive(sleeper.pid!)).toBe(true);
  const { child } = await foregroundDaemon(d);
  await stopped(child);
  expect(alive(sleeper.pid!)).toBe(true);
});

it('a hand-written lock naming a live program with its real start time is stale: stop leaves it alone, daemon takes the lock over, status agrees', async () => {
  const d = project({ 'a.txt': 'a\n' });
  const lock = path.join(d, '.chorus', 'daemon.lock');
  const sleeper = unrelated();
  const pid = sleeper.pid!;
  // Everything a daemon writes, and true of the sleeper: its pid, this folder, its start time.
  const procStart = processStart(pid);
  expect(procStart).toBeDefined();
  fs.writeFileSync(lock, JSON.stringify({ pid, started: new Date().toISOString(), root: d, procStart }));

  const stop = chorus(['stop', d]);
  expect(stop.status, stop.stderr).toBe(4);
  expect(stop.stderr).toContain(`no daemon running for ${d}; nothing to stop`);
  expect(stop.stderr).toMatch(/is stale: pid \d+ runs `sleep 1000`, which is not a chorus daemon for this folder/);
  expect(alive(pid)).toBe(true);
  expect(fs.readFileSync(lock, 'utf8')).toContain(String(pid)); // left as it was

  // Not "running but does not answer": nothing would ever answer.
  const status = chorus(['status', d]);
  expect(status.status).toBe(4);
  expect(status.stderr).toContain(`no daemon running for ${d}; start it with \`chorus start ${d}\` (or open the project in an editor with Chorus)`);

  // A daemon starts anyway, and its log says the lock was stale.
  const { child, log, status: st } = await foregroundDaemon(d);
  expect(log()).toMatch(/took over the stale lock .*daemon\.lock: pid \d+ runs `sleep 1000`, which is not a chorus daemon for this folder, and no daemon answers on its socket/);
  expect(st.pid).toBe(child.pid);
  await stopped(child);
  expect(alive(pid)).toBe(true);

  // The same lock in the background path an editor or `share` takes: a daemon starts there too.
  fs.writeFileSync(lock, JSON.stringify({ pid, started: new Date().toISOString(), root: d, procStart }));
  const share = chorus(['share', d, '--host', '127.0.0.1', '--json']);
  expect(share.status, share.stderr).toBe(0);
  expect(fs.readFileSync(path.join(d, '.chorus', 'daemon.log'), 'utf8')).toMatch(/took over the stale lock .*: pid \d+ runs `sleep 1000`/);
  expect(JSON.parse(fs.readFileSync(lock, 'utf8')).pid).not.toBe(pid);
  expect(alive(pid)).toBe(true);
});

it('stops a daemon whose lock was removed: it says who it is on its socket', async () => {
  const d = project({ 'a.txt': 'a\n' });
  expect(chorus(['share', d, '--host', '127.0.0.1']).status).toBe(0);
  const [pid] = daemonsFor(d);
  fs.rmSync(path.join(d, '.chorus', 'daemon.lock'));
  const stop = chorus(['stop', d]);
  expect(stop.status, stop.stderr).toBe(0);
  expect(stop.stderr).toContain(`stopped the daemon for ${d} (pid ${pid})`);
  expect(daemonsFor(d)).toEqual([]);
});

it('status and stop on a folder that is not a project say so, and make nothing', () => {
  const plain = tempDir();
  const status = chorus(['status', plain]);
  expect(status.status).toBe(4);
  expect(status.stderr).toContain(`${plain} is not a Chorus project (it has no .chorus/ folder)`);
  expect(status.stderr).toContain(`chorus share ${plain}`);
  expect(status.stderr).toContain(`chorus join <code> ${plain}`);
  expect(status.stderr).not.toContain('chorus daemon');
  const stop = chorus(['stop', plain]);
  expect(stop.status).toBe(4);
  expect(stop.stderr).toContain(`${plain} is not a Chorus project`);
  // From inside it, with no folder named: the same.
  expect(chorus(['status'], { cwd: plain }).stderr).toContain(`${plain} is not a Chorus project`);
  expect(fs.readdirSync(plain)).toEqual([]);

  // A folder inside a project: named as such, with the command for the project.
  const d = project({ 'src/a.txt': 'a\n' });
  const inner = chorus(['status', path.join(d, 'src')]);
  expect(inner.status).toBe(4);
  expect(inner.stderr).toContain(`inside the project ${d}; try \`chorus status ${d}\``);
  expect(fs.existsSync(path.join(d, 'src', '.chorus'))).toBe(false);
});

it('a damaged session file is kept aside and the log says how to get back in', async () => {
  const d = project({ 'a.txt': 'a\n' });
  expect(chorus(['share', d, '--host', '127.0.0.1']).status).toBe(0);
  expect(chorus(['stop', d]).status).toBe(0);
  const file = path.join(d, '.chorus', 'session.json');
  const cut = fs.readFileSync(file).subarray(0, 50);
  fs.writeFileSync(file, cut);

  const { child, log, status: st } = await foregroundDaemon(d);
  expect(log()).toMatch(/the saved session .*session\.json is damaged \(it is not complete JSON\), so this folder is no longer in its session/);
  expect(log()).toContain(`\`chorus join <code> ${d}\``);
  const kept = fs.readdirSync(path.join(d, '.chorus')).filter((n) => n.startsWith('session.json.damaged-'));
  expect(kept).toHaveLength(1);
  expect(log()).toContain(`it was kept as ${path.join(d, '.chorus', kept[0]!)}`);
  expect(fs.readFileSync(path.join(d, '.chorus', kept[0]!))).toEqual(cut);
  expect(st.session).toBeNull();
  // Sharing it again starts a new session: the person is told, not left to hand out a code to a
  // session apart from the one they were in (a second trial).
  const again = chorus(['share', d, '--host', '127.0.0.1']);
  expect(again.status, again.stderr).toBe(0);
  expect(again.stderr).toContain(`Note: this folder's saved session was damaged and is kept as ${path.join(d, '.chorus', kept[0]!)}, so this share starts a new session, apart from the old one`);
  expect(chorus(['share', d, '--host', '127.0.0.1']).stderr).not.toContain('damaged'); // said once
  await stopped(child);
});

it('chorus start and chorus status say a damaged session file left the session, not only the log (a trial)', () => {
  const d = project({ 'a.txt': 'a\n' });
  expect(chorus(['share', d, '--host', '127.0.0.1']).status).toBe(0);
  expect(chorus(['stop', d]).status).toBe(0);
  fs.writeFileSync(path.join(d, '.chorus', 'session.json'), '{"sessionId": ');
  const start = chorus(['start', d]);
  expect(start.status, start.stderr).toBe(0);
  expect(start.stderr).toMatch(/chorus: the saved session .*session\.json is damaged \(it is not complete JSON\), so this folder is no longer in its session; it was kept as .*session\.json\.damaged-.* To get back in, ask a member for a join code/);
  const status = chorus(['status', d]);
  expect(status.stdout).toMatch(/\nproblem   the saved session .*session\.json is damaged/);
  expect(status.stdout).toContain('session   not shared');
  // A start with nothing wrong says nothing of the kind.
  expect(chorus(['stop', d]).status).toBe(0);
  const clean = chorus(['start', d]);
  expect(clean.stderr).not.toContain('damaged');
  expect(chorus(['status', d]).stdout).not.toContain('problem');
  expect(chorus(['stop', d]).status).toBe(0);
});

it('a damaged identity file is kept aside and the log says a new identity was made', async () => {
  const d = project();
  const file = path.join(d, '.chorus', 'identity.json');
  fs.writeFileSync(file, '{"id": "0123456789abcdef01');
  const { child, log, status: st } = await foregroundDaemon(d);
  expect(log()).toMatch(/the identity file .*identity\.json is damaged \(it is not complete JSON\); it was kept as .*identity\.json\.damaged-.*new identity/);
  const kept = fs.readdirSync(path.join(d, '.chorus')).filter((n) => n.startsWith('identity.json.damaged-'));
  expect(kept).toHaveLength(1);
  expect(fs.readFileSync(path.join(d, '.chorus', kept[0]!), 'utf8')).toBe('{"id": "0123456789abcdef01');
  expect(JSON.parse(fs.readFileSync(file, 'utf8')).id).toBe(st.peer.id);
  await stopped(child);

  // A file that only chooses a name is no damage: no word, no copy.
  const named = project();
  fs.writeFileSync(path.join(named, '.chorus', 'identity.json'), JSON.stringify({ name: 'Ada' }));
  const second = await foregroundDaemon(named);
  expect(second.log()).not.toMatch(/damaged/);
  expect(second.status.peer.name).toBe('Ada');
  await stopped(second.child);
});

it('copies of damaged and stale state: a garbage ledger is said once and rewritten, the daemon\'s own copies are pruned to the newest three, copies that may hold edits are all kept and counted', async () => {
  const d = project({ 'a.txt': 'a\n' });
  const dot = path.join(d, '.chorus');
  const disk = path.join(dot, 'disk');
  const state = path.join(dot, 'state');
  fs.mkdirSync(disk);
  fs.mkdirSync(state);
  fs.writeFileSync(path.join(disk, 'ledger.jsonl'), 'this is not a ledger');
  const stamp = (day: number) => `2026-01-0${day}T00-00-00-000Z`;
  for (let day = 1; day <= 5; day++) fs.writeFileSync(path.join(disk, `ledger.jsonl.stale-${stamp(day)}`), `old ${day}\n`);
  for (let day = 1; day <= 4; day++) fs.writeFileSync(path.join(dot, `identity.json.damaged-${stamp(day)}`), '{"id":');
  // A document's change log and snapshot that did not load, and a session file: never removed.
  const documents = [`doc1.log.damaged-${stamp(1)}`, `doc1.snap.damaged-${stamp(1)}`, `doc2.log.damaged-${stamp(2)}`, `doc2.log.damaged-${stamp(3)}`];
  for (const n of documents) fs.writeFileSync(path.join(state, n), 'changes someone typed');
  fs.writeFileSync(path.join(dot, `session.json.damaged-${stamp(1)}`), '{"id":"s');

  const first = await foregroundDaemon(d);
  // Tidied once the daemon has started (after its own recoveries), the last thing it says here.
  await waitUntil('the copies tidied', () => first.log().includes('kept copies of damaged state'), 30_000);
  const log = first.log();
  expect(log).toMatch(/ledger\.jsonl had 1 unreadable record, skipped: .*; the ledger as it was is kept as .*ledger\.jsonl\.damaged-\S+ and it is rewritten from the 0 files it could read/);
  expect(fs.readFileSync(path.join(disk, 'ledger.jsonl'), 'utf8')).not.toContain('this is not a ledger');
  const damagedLedger = fs.readdirSync(disk).filter((n) => n.startsWith('ledger.jsonl.damaged-'));
  expect(damagedLedger).toHaveLength(1);
  expect(fs.readFileSync(path.join(disk, damagedLedger[0]!), 'utf8')).toBe('this is not a ledger');

  expect(log).toContain(`removed 2 older stale copies of ${path.join(disk, 'ledger.jsonl')} (the newest 3 are kept): ledger.jsonl.stale-${stamp(1)}, ledger.jsonl.stale-${stamp(2)}`);
  expect(fs.readdirSync(disk).filter((n) => n.includes('.stale-')).sort()).toEqual([3, 4, 5].map((day) => `ledger.jsonl.stale-${stamp(day)}`));
  expect(log).toContain(`removed 1 older damaged copy of ${path.join(dot, 'identity.json')} (the newest 3 are kept): identity.json.damaged-${stamp(1)}`);
  expect(fs.readdirSync(dot).filter((n) => n.startsWith('identity.json.damaged-'))).toHaveLength(3);

  expect(fs.readdirSync(state).filter((n) => n.includes('.damaged-')).sort()).toEqual(documents.sort());
  expect(fs.existsSync(path.join(dot, `session.json.damaged-${stamp(1)}`))).toBe(true);
  expect(log).toMatch(/kept copies of damaged state, which Chorus never removes: 4 of documents' saved state that did not load \(in .*state, \*\.damaged-\*: they may hold edits made before the damage\); 1 of the saved session .*\. Once you have checked that nothing in them is missing from the project, you can remove them/);
  await stopped(first.child);

  // The next start: the ledger is sound and the daemon's own copies are few, so nothing more is said or removed.
  const second = await foregroundDaemon(d);
  await waitUntil('the copies tidied', () => second.log().includes('kept copies of damaged state'), 30_000);
  expect(second.log()).not.toMatch(/unreadable record|removed \d+ older/);
  expect(second.log()).toContain('kept copies of damaged state, which Chorus never removes: 4 of');
  await stopped(second.child);
  expect(fs.readdirSync(state).filter((n) => n.includes('.damaged-'))).toHaveLength(4);
});
