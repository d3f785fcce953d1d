// A trial: `git clean -fdx` deletes the project's .chorus/ (its .gitignore ignores everything in
// it). The daemon went on, linked to its peers, while nothing of this folder reached them, and an
// editor's automatic reconnect made the folder a new, unshared project, without a word. Now the
// daemon tells its editors and stops, writing nothing into the project's .chorus/, and an editor's
// reconnect does not make the folder a project again.
import fs from 'node:fs';
import path from 'node:path';
import * as P from '@chorus/protocol';
import { expect, it } from 'vitest';
import { chorus, daemonsFor, joinedPair, stopAfterEach, waitUntil } from '../support/cli.js';
import { ScriptedEditor } from '../support/scripted-editor.js';

const used = stopAfterEach();

it('a .chorus/ deleted while the daemon runs: editors are told, the daemon stops and makes none again, a reconnect makes no new project', async () => {
  const { a, b } = joinedPair({ 'a.txt': 'a\n' }, used);
  const { editor, proc } = ScriptedEditor.connect(a);
  try {
    await editor.init();
    await editor.open('a.txt', undefined);
    fs.rmSync(path.join(a, '.chorus'), { recursive: true, force: true });
    await waitUntil('the editor to be told', () => editor.notes.some((n) => n.method === P.SessionNotice.method && String(n.params.message).includes('was deleted while the daemon ran')));
    const told = editor.notes.find((n) => n.method === P.SessionNotice.method)!.params as P.ParamsOf<typeof P.SessionNotice>;
    expect(told.type).toBe('error');
    expect(told.message).toContain(`To get back in, ask a member for a join code and run \`chorus join <code> ${a}\``);
    await waitUntil("A's daemon to stop", () => daemonsFor(a).length === 0);
  } finally {
    editor.close();
    proc.kill();
  }
  await new Promise((r) => setTimeout(r, 1000));
  expect(fs.existsSync(path.join(a, '.chorus'))).toBe(false);
  expect(fs.readdirSync(a)).toEqual(['a.txt']);
  // An editor's automatic reconnect (`--reconnect`) makes no new project of it, and says why.
  const again = chorus(['connect', '--reconnect', a], { input: '' });
  expect(again.status).not.toBe(0);
  expect(again.stderr).toContain(`${a} is not a Chorus project any more (its .chorus/ folder is gone`);
  expect(fs.existsSync(path.join(a, '.chorus'))).toBe(false);
  // The peer keeps its files and its session.
  expect(fs.readFileSync(path.join(b, 'a.txt'), 'utf8')).toBe('a\n');
  expect(chorus(['status', b]).stdout).toContain('session   ');
});
