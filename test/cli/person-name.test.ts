// `chorus share` and `chorus join` took no `--name`: every daemon on one machine got the git
// user.name, so two peers there (two folders, a demo) showed the same name, and a person joining
// could not pick theirs. Decision 178: `--name` on daemon, share and join, one rule for names
// (person-name.ts), kept in .chorus/identity.json so a restart by an editor keeps it. Real
// daemons, run by the built CLI, on loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as P from '@chorus/protocol';
import { afterEach, expect, it } from 'vitest';
import { chorus, daemonsFor, stopAfterEach, waitUntil } from '../support/cli.js';
import { CLI } from '../support/paths.js';
import { ScriptedEditor } from '../support/scripted-editor.js';
import { tempDir, tempProject } from '../support/project-dir.js';
import { colorFor } from '../../daemon/src/presence/colors.js';

const used = stopAfterEach();
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

interface Status {
  peer: { id: string; name: string; color: string };
  peers: Array<{ id: string; name: string; color: string }>;
}

function statusOf(dir: string): Status {
  const r = chorus(['status', dir, '--json']);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Status;
}

/**
 * Wait until `dir`'s daemon lists a peer called `name` (presence may follow the link by a moment).
 * Asks on the daemon's socket, the request `chorus status` sends, rather than a process per poll.
 */
async function waitForPeerNamed(dir: string, name: string): Promise<void> {
  const e = await ScriptedEditor.socket(path.join(dir, '.chorus', 'daemon.sock'), { name: 'name check' });
  try {
    await e.init();
    for (const end = Date.now() + 60_000; ; await new Promise((r) => setTimeout(r, 100))) {
      const st = await e.conn.sendRequest(P.SessionStatus.type, undefined);
      if (st.peers.some((p) => p.name === name)) return;
      if (Date.now() > end) throw new Error(`timed out waiting for ${dir} to list a peer called ${name}; it lists ${JSON.stringify(st.peers.map((p) => p.name))}`);
    }
  } finally {
    e.close();
  }
}

const storedName = (dir: string) => (JSON.parse(fs.readFileSync(path.join(dir, '.chorus', 'identity.json'), 'utf8')) as { name: string }).name;

it('two peers on one machine, each with its own --name, see each other by it; a restart keeps it; a later --name replaces it', async () => {
  const a = tempProject({ 'a.txt': 'a\n' });
  used.push(a);
  const shared = chorus(['share', a, '--json', '--host', '127.0.0.1', '--name', 'Ada Lovelace']);
  expect(shared.status, shared.stderr).toBe(0);
  const code = (JSON.parse(shared.stdout) as { code: string }).code;
  const b = path.join(tempDir(), 'b');
  used.push(b);
  const join = chorus(['join', code, b, '--host', '127.0.0.1', '--name', 'Grace Hopper']);
  expect(join.status, join.stderr).toBe(0);

  expect(statusOf(a).peer.name).toBe('Ada Lovelace');
  expect(statusOf(b).peer.name).toBe('Grace Hopper');
  await waitForPeerNamed(a, 'Grace Hopper');
  await waitForPeerNamed(b, 'Ada Lovelace');
  // What a person reads: their own name, and the other's in the peers list.
  const text = chorus(['status', a]);
  expect(text.status, text.stderr).toBe(0);
  expect(text.stdout).toMatch(/^you {7}Ada Lovelace \(/m);
  expect(text.stdout).toMatch(/^ {2}Grace Hopper [0-9a-f]{8}/m);
  expect(storedName(b)).toBe('Grace Hopper');

  // An editor starts b's daemon again (`chorus connect`, no name): the name kept is the one used.
  const stop = chorus(['stop', b]);
  expect(stop.status, stop.stderr).toBe(0);
  const connect = spawn(process.execPath, [CLI, 'connect', b], { stdio: ['pipe', 'ignore', 'ignore'] });
  children.push(connect);
  await waitUntil("b's daemon to start again", () => daemonsFor(b).length > 0 && fs.existsSync(path.join(b, '.chorus', 'daemon.sock')));
  await waitUntil("b's daemon to answer", () => chorus(['status', b]).status === 0);
  expect(statusOf(b).peer.name).toBe('Grace Hopper');
  await waitForPeerNamed(a, 'Grace Hopper');

  // A later --name replaces it, on the running daemon too: kept, and told to the peer.
  const again = chorus(['share', b, '--json', '--name', 'Grace B. Murray']);
  expect(again.status, again.stderr).toBe(0);
  expect(statusOf(b).peer.name).toBe('Grace B. Murray');
  expect(storedName(b)).toBe('Grace B. Murray');
  await waitForPeerNamed(a, 'Grace B. Murray');
  connect.stdin!.end();
}, 180_000);

/** `dir`'s identity as `.chorus/identity.json` keeps it. */
const storedIdentity = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, '.chorus', 'identity.json'), 'utf8')) as { id: string; color: string };

/** A folder whose `.chorus/identity.json` says `identity` (as a person may write it), with one file. */
function folderWithIdentity(identity: Record<string, string>): string {
  const dir = tempProject({ 'x.txt': 'x\n' });
  fs.mkdirSync(path.join(dir, '.chorus'));
  fs.writeFileSync(path.join(dir, '.chorus', 'identity.json'), JSON.stringify(identity));
  return dir;
}

it("a member joining in a colour a member there wears takes one nobody wears, kept and seen by the peer; one written by hand is kept (a trial: two of five people in one colour)", async () => {
  // Bob's id gives the colour Ann chose: without a change both would show in it.
  const bobId = 'b0b0000000000000000000000000000b';
  const worn = colorFor(bobId);
  const a = folderWithIdentity({ name: 'Ann', color: worn });
  used.push(a);
  const shared = chorus(['share', a, '--json', '--host', '127.0.0.1']);
  expect(shared.status, shared.stderr).toBe(0);
  const code = (JSON.parse(shared.stdout) as { code: string }).code;
  const b = path.join(tempDir(), 'b');
  fs.mkdirSync(path.join(b, '.chorus'), { recursive: true });
  fs.writeFileSync(path.join(b, '.chorus', 'identity.json'), JSON.stringify({ id: bobId, name: 'Bob' }));
  used.push(b);
  const join = chorus(['join', code, b, '--host', '127.0.0.1']);
  expect(join.status, join.stderr).toBe(0);

  const bobs = statusOf(b).peer.color;
  expect(bobs).not.toBe(worn);
  expect(bobs).toMatch(/^#[0-9a-f]{6}$/);
  expect(storedIdentity(b)).toMatchObject({ id: bobId, color: bobs });
  expect(statusOf(a).peer.color).toBe(worn);
  await waitUntil('Ann to see Bob in his new colour', () => statusOf(a).peers.some((p) => p.name === 'Bob' && p.color === bobs));
  expect(fs.readFileSync(path.join(b, '.chorus', 'daemon.log'), 'utf8')).toContain(`this person's colour is now ${bobs}: a member of the session wears ${worn}`);

  // Carol wrote her colour by hand, the one Ann wears: hers to keep.
  const c = path.join(tempDir(), 'c');
  fs.mkdirSync(path.join(c, '.chorus'), { recursive: true });
  const carolId = 'c0c0000000000000000000000000000c';
  expect(colorFor(carolId)).not.toBe(worn); // so the colour is one her id does not give
  fs.writeFileSync(path.join(c, '.chorus', 'identity.json'), JSON.stringify({ id: carolId, name: 'Carol', color: worn }));
  used.push(c);
  const joinC = chorus(['join', code, c, '--host', '127.0.0.1']);
  expect(joinC.status, joinC.stderr).toBe(0);
  expect(statusOf(c).peer.color).toBe(worn);
}, 180_000);

it('refuses a bad --name on daemon, share and join before anything starts, changing nothing', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /a name cannot be empty/],
    ['   ', /a name cannot be empty/],
    ['x'.repeat(201), /a name is at most 200 characters \(this one has 201\)/],
    ['Mallory\nfake line', /a name cannot hold control characters/],
    ['Eve\u202Egnp.exe', /a name cannot hold control characters .*bidirectional controls/],
  ];
  for (const [name, message] of bad) {
    const a = tempProject({ 'a.txt': 'a\n' });
    used.push(a);
    const share = chorus(['share', a, '--name', name]);
    expect(share.status, `share --name ${JSON.stringify(name)}: ${share.stderr}`).toBe(P.ExitCodes.Failed);
    expect(share.stderr).toMatch(message);
    expect(share.stderr).toContain('nothing was started or changed');
    expect(fs.existsSync(path.join(a, '.chorus')), 'share made .chorus/').toBe(false);

    const daemon = chorus(['daemon', a, '--name', name], { timeoutMs: 20_000 });
    expect(daemon.status, `daemon --name ${JSON.stringify(name)}: ${daemon.stderr}`).toBe(P.ExitCodes.Failed);
    expect(daemon.stderr).toMatch(message);
    expect(fs.existsSync(path.join(a, '.chorus')), 'daemon made .chorus/').toBe(false);

    // The name is checked first: no join code is even looked at, no folder made.
    const b = path.join(tempDir(), 'b');
    const join = chorus(['join', 'chorus2.whatever', b, '--name', name]);
    expect(join.status, `join --name ${JSON.stringify(name)}: ${join.stderr}`).toBe(P.ExitCodes.Failed);
    expect(join.stderr).toMatch(message);
    expect(fs.existsSync(b), 'join made its folder').toBe(false);
    // The message shows the name escaped, never raw (no control character reaches the terminal).
    expect(share.stderr + join.stderr).not.toMatch(/[\n\u202E]fake|\u202E/);
    expect(daemonsFor(a)).toEqual([]);
  }
}, 180_000);

it("an editor's session/share with a name that is not one is refused (InvalidParams) and changes nothing", async () => {
  const a = tempProject({ 'a.txt': 'a\n' });
  used.push(a);
  const shared = chorus(['share', a, '--json', '--host', '127.0.0.1', '--name', 'Ada']);
  expect(shared.status, shared.stderr).toBe(0);
  const e = await ScriptedEditor.socket(path.join(a, '.chorus', 'daemon.sock'), { name: 'script' });
  try {
    await e.init();
    for (const name of [42, '', 'a\u0007b', 'Eve\u2067x']) {
      const err = await e.conn.sendRequest(P.SessionShare.type, { name } as never).then(
        () => undefined,
        (x: unknown) => x as { code: number; message: string },
      );
      expect(err?.code, JSON.stringify(name)).toBe(P.ErrorCodes.InvalidParams);
      expect(err?.message, JSON.stringify(name)).toMatch(/name/);
      const joinErr = await e.conn.sendRequest(P.SessionJoin.type, { code: 'chorus2.x', name } as never).then(
        () => undefined,
        (x: unknown) => x as { code: number },
      );
      expect(joinErr?.code, JSON.stringify(name)).toBe(P.ErrorCodes.InvalidParams);
    }
    expect((await e.conn.sendRequest(P.SessionStatus.type, undefined)).peer.name).toBe('Ada');
  } finally {
    e.close();
  }
  expect(storedName(a)).toBe('Ada');
}, 60_000);
