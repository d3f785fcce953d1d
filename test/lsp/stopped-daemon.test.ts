/**
 * `chorus lsp` while its daemon is stopped (`chorus stop`) or being restarted, against a real
 * daemon and the scripted LSP client (docs/decisions/186-lsp-documents-opened-without-a-daemon.md).
 * Pins two user-trial faults (h75): a file opened while the daemon was stopped was never opened
 * with it after chorus.reconnect, without a word; and chorus.status then answered "the Chorus
 * language server is not initialized yet", which was false and said nothing of what to do.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { daemonsFor } from '../support/cli.js';
import { CLI } from '../support/paths.js';
import { tempProject } from '../support/project-dir.js';
import { ScriptedEditor } from '../support/scripted-editor.js';
import { LspClient } from './lsp-client.js';

const dir = tempProject({ 'a.txt': 'open before\n', 'b.txt': 'opened while stopped\n', 'c.txt': 'closed while stopped\n' }, 'chorus-lsp-stopped-');
fs.mkdirSync(path.join(dir, '.chorus'));
let lsp: LspClient | undefined;
const editors: ScriptedEditor[] = [];

// Every daemon this file's server starts waits 3 s before it takes the lock (a test-only knob,
// decision 183), so "reconnecting" lasts long enough to be asked about on any machine.
const START_DELAY_MS = 3000;
process.env.CHORUS_TEST_START_DELAY_MS = String(START_DELAY_MS);

afterAll(async () => {
  delete process.env.CHORUS_TEST_START_DELAY_MS;
  await lsp?.stop();
  for (const e of editors) e.close();
  spawnSync(process.execPath, [CLI, 'stop', dir], { stdio: 'ignore', timeout: 20000 }); // none may run: a failed test
  fs.rmSync(dir, { recursive: true, force: true });
}, 60000);

async function until(pred: () => boolean, what: string, ms = 20000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; server stderr: ${lsp?.stderr}; messages: ${JSON.stringify(lsp?.messages)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The error a workspace/executeCommand answers with (fails when it succeeds). */
async function commandError(command: string, args: unknown[] = []): Promise<{ code: number; message: string }> {
  try {
    await lsp!.request('workspace/executeCommand', { command, arguments: args });
  } catch (e) {
    return e as { code: number; message: string };
  }
  throw new Error(`${command} succeeded without a daemon`);
}

async function editor(): Promise<ScriptedEditor> {
  const e = await ScriptedEditor.socket(path.join(dir, '.chorus', 'daemon.sock'), { name: 'Bob' });
  editors.push(e);
  await e.init();
  return e;
}

describe('chorus lsp with its daemon stopped', () => {
  it('says what happened and what to do, keeps the files opened meanwhile and shares them on chorus.reconnect', async () => {
    lsp = LspClient.start(dir);
    await lsp.initialize();
    await lsp.open('a.txt', 'open before\n');
    await lsp.edit('a.txt', 4, 4, 'ed');
    await until(() => fs.readFileSync(path.join(dir, 'a.txt'), 'utf8') === 'opened before\n', 'the first edit on disk');
    await lsp.stopDaemon(dir);

    // Every command says the daemon is stopped and how to start it.
    for (const [command, args] of [['chorus.status', []], ['chorus.follow', []], ['chorus.undo', []], ['chorus.redo', [lsp.uri('a.txt')]]] as const) {
      const e = await commandError(command, [...args]);
      expect(e.message, command).toMatch(/stopped with `chorus stop`.*run the command chorus\.reconnect/);
      expect(e.message, command).not.toMatch(/not initialized/);
    }
    // A request the editor makes on its own (the cursor resting) is no error.
    expect(await lsp.request('textDocument/documentHighlight', { textDocument: { uri: lsp.uri('a.txt') }, position: { line: 0, character: 1 } })).toEqual([]);

    // Files opened while stopped: one typed into, one closed again. Each is said not shared yet.
    await lsp.open('b.txt', 'opened while stopped\n');
    await lsp.open('c.txt', 'closed while stopped\n');
    await until(() => lsp!.messages.filter((m) => /\b[bc]\.txt is not shared yet: .*stopped.*chorus\.reconnect/.test(m.message)).length === 2, 'the files opened while stopped told');
    await lsp.edit('b.txt', 0, 0, 'typed, ');
    await lsp.edit('a.txt', 0, 0, '> ');
    await lsp.close('c.txt');
    expect(daemonsFor(dir)).toEqual([]);

    await lsp.request('workspace/executeCommand', { command: 'chorus.reconnect', arguments: [] });
    expect(lsp.messages.some((m) => /reconnected.*1 file opened meanwhile is shared now/.test(m.message))).toBe(true);
    const st = await lsp.request('workspace/executeCommand', { command: 'chorus.status', arguments: [] });
    expect(st.buffers.map((b: { path: string }) => b.path).sort()).toEqual(['a.txt', 'b.txt']);
    await until(() => fs.readFileSync(path.join(dir, 'b.txt'), 'utf8') === 'typed, opened while stopped\n', 'b.txt typed while stopped, on disk');
    await until(() => fs.readFileSync(path.join(dir, 'a.txt'), 'utf8') === '> opened before\n', 'a.txt typed while stopped, on disk');

    // And b.txt syncs both ways.
    const e = await editor();
    expect(await e.open('b.txt')).toBe('typed, opened while stopped\n');
    await e.edit('b.txt', 0, 0, 'Bob: ');
    await until(() => lsp!.doc('b.txt').text === 'Bob: typed, opened while stopped\n', 'a peer edit in b.txt');
    await lsp.edit('b.txt', lsp.doc('b.txt').text.length, lsp.doc('b.txt').text.length, 'more\n');
    await e.waitFor(() => e.text('b.txt') === 'Bob: typed, opened while stopped\nmore\n', 'an edit of b.txt from the LSP client');
  }, 90000);

  it('while the daemon is being restarted, a command says Chorus is reconnecting', async () => {
    const { pid } = JSON.parse(execFileSync(process.execPath, [CLI, 'status', dir, '--json'], { encoding: 'utf8' })) as { pid: number };
    process.kill(pid, 'SIGTERM'); // not `chorus stop`: the server starts it again
    await until(() => lsp!.messages.some((m) => m.message.includes('lost the daemon')), 'the loss told');
    // The restarted daemon waits START_DELAY_MS before it serves: the server is reconnecting meanwhile.
    expect((await commandError('chorus.status')).message).toMatch(/went away and Chorus is reconnecting.*try again in a moment/);
    await until(() => lsp!.messages.filter((m) => m.message.includes('reconnected')).length === 2, 'the reconnect');
  }, 60000);
});
