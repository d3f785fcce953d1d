/**
 * `chorus lsp` while its daemon is stopped with `kill -STOP` (a suspended terminal), against a
 * real daemon and the scripted LSP client. As trial s55a F6 found for Neovim: the connection
 * stays open, nothing answers, and the person typed on with no word. The server now says once
 * (window/showMessage, a warning) that the daemon has not answered the typing and that nothing is
 * lost, and once it answers, that it does again. Every key arrives.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { daemonsFor, frozenAfterEach, stopIfRunning } from '../support/cli.js';
import { tempProject } from '../support/project-dir.js';
import { LspClient } from './lsp-client.js';

let lsp: LspClient | undefined;
let dir: string | undefined;
afterEach(async () => {
  await lsp?.stop();
  lsp = undefined;
  if (dir) {
    stopIfRunning(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  dir = undefined;
}, 60_000);
const { freeze, thaw } = frozenAfterEach();

async function until(pred: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; server stderr: ${lsp?.stderr}; messages: ${JSON.stringify(lsp?.messages)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

it('says the daemon has not answered the typing, then that it answers again; every key arrives', async () => {
  dir = tempProject({ 'a.txt': 'start\n' }, 'chorus-lsp-frozen-');
  fs.mkdirSync(path.join(dir, '.chorus'));
  const file = path.join(dir, 'a.txt');
  lsp = LspClient.start(dir);
  await lsp.initialize();
  await lsp.open('a.txt', 'start\n');
  await lsp.edit('a.txt', 5, 5, 'one');
  await until(() => fs.readFileSync(file, 'utf8') === 'startone\n', 'the first typing on disk');
  const [pid] = daemonsFor(dir);
  expect(pid).toBeDefined();
  freeze(pid!);

  await lsp.edit('a.txt', 8, 8, 'two');
  const said = (what: string) => lsp!.messages.filter((m) => m.message.includes(what));
  await until(() => said('has not answered your typing').length > 0, 'the server to say the daemon does not answer');
  const [slow] = said('has not answered your typing');
  expect(slow!.type).toBe(2); // a warning
  expect(slow!.message).toContain(dir);
  expect(slow!.message).toMatch(/Nothing is lost/);
  await lsp.edit('a.txt', 11, 11, 'three');

  thaw(pid!);
  await until(() => said('answers again').length > 0, 'the server to say the daemon answers again');
  await until(() => fs.readFileSync(file, 'utf8') === 'startonetwothree\n', 'every key on disk');
  // Said once each.
  expect(said('has not answered your typing')).toHaveLength(1);
  expect(said('answers again')).toHaveLength(1);
}, 120_000);
