/**
 * `chorus lsp` started without `--dir` (idle until a file inside a project is opened) starts
 * that project's daemon when the first such file opens. What the person types meanwhile must
 * be shared, not dropped: CI once lost such an edit (lsp/scripted, under load), because a
 * didChange that came while the daemon was being found and started matched no document.
 * Every daemon this file's server starts waits 2 s first (a test-only knob, decision 183), so
 * the edits below land in that window on any machine.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { CLI } from '../support/paths.js';
import { tempDir, tempProject } from '../support/project-dir.js';
import { ScriptedEditor } from '../support/scripted-editor.js';
import { LspClient } from './lsp-client.js';

const elsewhere = tempDir('chorus-lsp-starting-elsewhere-');
const proj = tempProject({ 'p.txt': 'in the project\n', 'q.txt': 'closed at once\n' }, 'chorus-lsp-starting-');
fs.mkdirSync(path.join(proj, '.chorus'));
let lsp: LspClient | undefined;
const editors: ScriptedEditor[] = [];

process.env.CHORUS_TEST_START_DELAY_MS = '2000';

afterAll(async () => {
  delete process.env.CHORUS_TEST_START_DELAY_MS;
  await lsp?.stop();
  for (const e of editors) e.close();
  spawnSync(process.execPath, [CLI, 'stop', proj], { stdio: 'ignore', timeout: 20000 });
}, 60000);

async function until(pred: () => boolean, what: string, ms = 30000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; server stderr: ${lsp?.stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

it("what is typed while the project's daemon starts is shared, and a file closed meanwhile is not held open", async () => {
  lsp = LspClient.start(elsewhere, { dir: false });
  await lsp.initialize();
  const p = path.relative(elsewhere, path.join(proj, 'p.txt'));
  const q = path.relative(elsewhere, path.join(proj, 'q.txt'));
  await lsp.open(p, 'in the project\n');
  await lsp.edit(p, 0, 0, 'typed ');
  await lsp.edit(p, 6, 6, 'early ');
  await lsp.open(q, 'closed at once\n');
  await lsp.edit(q, 0, 0, 'not shared ');
  await lsp.close(q);
  // The daemon is still waiting out its start delay: both edits came before it could be asked.
  expect(fs.existsSync(path.join(proj, '.chorus', 'daemon.sock'))).toBe(false);

  await until(() => fs.existsSync(path.join(proj, '.chorus', 'daemon.sock')), "the project's daemon");
  const e = await ScriptedEditor.socket(path.join(proj, '.chorus', 'daemon.sock'));
  editors.push(e);
  await e.init();
  await e.open('p.txt');
  await e.waitFor(() => e.text('p.txt') === 'typed early in the project\n', 'the edits typed while the daemon started', 30000);
  await lsp.edit(p, 0, 0, 'then ');
  await e.waitFor(() => e.text('p.txt') === 'then typed early in the project\n', 'an edit after it started', 30000);

  // q.txt was closed before the daemon was there, its change unsaved: neither that change nor
  // the closed document reached the session.
  await e.open('q.txt');
  expect(e.text('q.txt')).toBe('closed at once\n');
  expect(fs.readFileSync(path.join(proj, 'q.txt'), 'utf8')).toBe('closed at once\n');
  expect(lsp.messages.filter((m) => m.type === 1)).toEqual([]);
}, 90000);
