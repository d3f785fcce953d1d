// A path this folder keeps to itself (its ignore rules: here the built-in rule for secrets) is
// never written by a peer, even when that peer shares the path. Before, a peer that shared its
// `.env` (`!.env` in its .chorus/ignore) overwrote every other member's own `.env`, and a folder
// joining the session had its `.env` replaced by the session's, with no copy and no message.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import * as P from '../../protocol/src/index.js';
import { chorus, shareCode, stopAfterEach, waitUntil } from '../support/cli.js';
import { tempProject } from '../support/project-dir.js';
import { ScriptedEditor } from '../support/scripted-editor.js';

const used = stopAfterEach();
const editors: ScriptedEditor[] = [];
afterEach(() => {
  for (const e of editors.splice(0)) e.close();
});
const read = (dir: string, rel: string) => fs.readFileSync(path.join(dir, rel), 'utf8');
const log = (dir: string) => read(dir, '.chorus/daemon.log');

/**
 * A shares its folder with its own `.env` ("SECRET=a"); B joins and shares its own `.env` ("B=1")
 * on purpose (decision 145's way to share one). Resolves once A has said it leaves its own.
 */
async function bothWithEnv(): Promise<{ a: string; b: string; code: string }> {
  const a = tempProject({ '.env': 'SECRET=a\n', 'a.txt': 'a\n' });
  used.push(a);
  const code = shareCode(a);
  const b = tempProject({ '.chorus/ignore': '!.env\n', '.env': 'B=1\n' });
  used.push(b);
  const joinB = chorus(['join', code, b, '--host', '127.0.0.1']);
  expect(joinB.status, joinB.stderr).toBe(0);
  await waitUntil('A to hear of B’s .env and leave its own', () => log(a).includes('not writing .env here: a peer shares it, but this folder keeps it to itself'));
  return { a, b, code };
}

it("a peer sharing its .env never overwrites another member's own, nor a joining folder's", async () => {
  const { a, b, code } = await bothWithEnv();
  expect(log(a)).toMatch(/keeps it to itself \(Chorus never shares files that usually hold secrets by default \(built-in rule "\.env"/);
  // B changes its .env (a new version to write) and then makes a file A does write.
  fs.appendFileSync(path.join(b, '.env'), 'B=2\n');
  await new Promise((r) => setTimeout(r, 1500));
  fs.writeFileSync(path.join(b, 'after.txt'), 'after\n');
  await waitUntil('B’s later file on A', () => fs.existsSync(path.join(a, 'after.txt')));
  await new Promise((r) => setTimeout(r, 1500));
  expect(read(a, '.env')).toBe('SECRET=a\n');
  expect(read(b, '.env')).toBe('B=1\nB=2\n'); // A's secret never reached B either

  // A folder joining with its own .env keeps it.
  const c = tempProject({ '.env': 'KEEP_ME=1\n' });
  used.push(c);
  const joinC = chorus(['join', code, c, '--host', '127.0.0.1']);
  expect(joinC.status, joinC.stderr).toBe(0);
  await waitUntil('the session’s files on C', () => fs.existsSync(path.join(c, 'after.txt')) && fs.existsSync(path.join(c, 'a.txt')));
  await waitUntil('C to hear of B’s .env and leave its own', () => log(c).includes('not writing .env here'));
  expect(read(c, '.env')).toBe('KEEP_ME=1\n');
  expect(read(a, '.env')).toBe('SECRET=a\n');
  expect(read(b, '.env')).toBe('B=1\nB=2\n');
});

it("a peer's rename onto a path this folder keeps to itself never replaces its own file there, nor shares it; the peer's deletion of it leaves it", async () => {
  // A trial: a writer that shares `.env` renamed one of its files to `.env`; the host's own
  // `.env` was replaced by the writer's text, with no copy and no word, and from then on the
  // host's edits of it reached every member.
  const a = tempProject({ '.env': 'SECRET=a\n', 'a.txt': 'a\n' });
  used.push(a);
  const code = shareCode(a);
  const b = tempProject({ '.chorus/ignore': '!.env\n' });
  used.push(b);
  const joinB = chorus(['join', code, b, '--host', '127.0.0.1']);
  expect(joinB.status, joinB.stderr).toBe(0);
  fs.writeFileSync(path.join(b, 'decoy.txt'), 'DECOY=1\n');
  await waitUntil('decoy.txt on A', () => fs.existsSync(path.join(a, 'decoy.txt')));
  fs.renameSync(path.join(b, 'decoy.txt'), path.join(b, '.env'));
  await waitUntil('A to leave its .env and say so', () => log(a).includes('not writing .env here: a peer shares it, but this folder keeps it to itself'));
  await waitUntil('decoy.txt gone from A with the rename', () => !fs.existsSync(path.join(a, 'decoy.txt')));
  expect(read(a, '.env')).toBe('SECRET=a\n');
  // A's later edit of its .env stays on A; a file A makes afterwards shows the link is alive.
  fs.writeFileSync(path.join(a, '.env'), 'SECRET=a2\n');
  await new Promise((r) => setTimeout(r, 1500));
  fs.writeFileSync(path.join(a, 'after.txt'), 'after\n');
  await waitUntil('A’s later file on B', () => fs.existsSync(path.join(b, 'after.txt')));
  expect(read(b, '.env')).toBe('DECOY=1\n');
  expect(fs.existsSync(path.join(b, 'decoy.txt'))).toBe(false);
  // B deletes its .env: A's own stays, and A's log does not call it shared again.
  fs.rmSync(path.join(b, '.env'));
  fs.writeFileSync(path.join(b, 'after2.txt'), 'after\n');
  await waitUntil('B’s later file on A', () => fs.existsSync(path.join(a, 'after2.txt')));
  await new Promise((r) => setTimeout(r, 1500));
  expect(read(a, '.env')).toBe('SECRET=a2\n');
  expect(log(a)).not.toMatch(/kept \.env: a peer deleted it/);
  expect(fs.existsSync(path.join(a, 'decoy.txt'))).toBe(false);
});

// Trial s49 (2 of 2): a member's own `.env`, open in VS Code, while a peer shared a `.env` of its
// own (there a browser tab made it, which no ignore file stops). VS Code's reconnect re-opened the
// tab with its text, and the daemon, finding the path in the session, merged it in: every member's
// disk got the secret. An editor's open of this folder's own file at a path it keeps to itself
// is local, as for any ignored file.
it("an editor opening this folder's own .env, which a peer shares a .env of its own at, keeps it local: nothing merged, nothing sent", async () => {
  const { a, b } = await bothWithEnv();
  const e = await ScriptedEditor.socket(path.join(a, '.chorus', 'daemon.sock'), { name: 'vscode' });
  editors.push(e);
  await e.init();
  // A re-open after a reconnect (content and base), then a first open with the editor's text.
  for (const params of [{ content: 'SECRET=a\n', base: 'SECRET=a\n' }, { content: 'SECRET=a\n' }, {}]) {
    const r = (await e.raw(P.BufferOpen.method, { path: '.env', ...params })) as P.ResultOf<typeof P.BufferOpen>;
    expect(r.shared, JSON.stringify(params)).toBe(false);
    expect(r.content).toBe('SECRET=a\n');
    expect(r.notShared).toMatch(/^\.env is ignored here \(.*\) and this folder has its own \.env, so it stays on this machine/);
  }
  // An edit of it is not shared either.
  const edit = (await e.raw(P.BufferEdit.method, { path: '.env', revision: 0, changes: [{ range: { start: { line: 1, character: 0 }, end: { line: 1, character: 0 } }, text: 'TYPED=1\n' }] }).catch((err: unknown) => err)) as { message?: string };
  expect(edit?.message ?? '').toMatch(/\.env/);
  // A file made afterwards shows the link is alive; B's .env has none of A's text.
  fs.writeFileSync(path.join(a, 'after.txt'), 'after\n');
  await waitUntil('A’s later file on B', () => fs.existsSync(path.join(b, 'after.txt')));
  await new Promise((r) => setTimeout(r, 1500));
  expect(read(b, '.env')).toBe('B=1\n');
  expect(read(a, '.env')).toBe('SECRET=a\n');
});
