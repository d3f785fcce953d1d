/**
 * A file an LSP editor has open through `chorus lsp` is renamed on a peer (decision 158). Pins
 * the fault that the bridge ignored `buffer/didRename`: the editor kept the old name without a
 * word, and once it opened the new name, closing the old one closed the daemon's buffer of the
 * new one (its edits were then refused and the document stopped syncing). Two real daemons on
 * loopback; the LSP side is the scripted client (it announces RenameFile support, which the
 * bridge must not use: every client moves the file itself, and it is already moved).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Scene, waitFor } from '../neovim/support.js';
import { ScriptedEditor } from '../support/scripted-editor.js';
import { LspClient } from './lsp-client.js';

let scene: Scene | undefined;
const lsps: LspClient[] = [];
const editors: ScriptedEditor[] = [];

afterEach(async () => {
  for (const c of lsps.splice(0)) await c.stop();
  for (const e of editors.splice(0)) e.close();
  await scene?.cleanup();
  scene = undefined;
}, 60000);

async function editorOn(dir: string): Promise<ScriptedEditor> {
  const e = await ScriptedEditor.socket(path.join(dir, '.chorus', 'daemon.sock'), { name: 'script' });
  editors.push(e);
  await e.init();
  return e;
}

const said = (c: LspClient, re: RegExp) => c.messages.filter((m) => re.test(m.message));

describe('chorus lsp: a file renamed while open', () => {
  it('keeps the old URI syncing at the new path, says so once, and hands over to the new name cleanly', async () => {
    scene = new Scene();
    const { a, b } = scene.pair({ 'f.txt': 'alpha\nbeta\n' });
    const c = LspClient.start(b);
    lsps.push(c);
    await c.initialize({ workspace: { applyEdit: true, workspaceEdit: { documentChanges: true, resourceOperations: ['create', 'rename', 'delete'] } }, window: { showDocument: { support: true } } });
    await c.open('f.txt', 'alpha\nbeta\n');
    const status = await scene.client(b);
    await waitFor('f.txt open through chorus lsp', async () => ((await status.request('session/status', null)).buffers as Array<{ path: string }>).some((x) => x.path === 'f.txt'));

    fs.renameSync(path.join(a, 'f.txt'), path.join(a, 'g.txt'));
    await waitFor('the person told of the rename', () => said(c, /f\.txt was renamed to g\.txt/).length > 0, 60000);
    expect(said(c, /f\.txt was renamed to g\.txt/)[0]!.message).toMatch(/still has it open as f\.txt: what you type there goes to g\.txt.*Open g\.txt .*close f\.txt without saving/);

    // Typing under the old URI lands in g.txt on both peers; f.txt comes back nowhere.
    await c.edit('f.txt', 5, 5, '!');
    const peer = await editorOn(a);
    await peer.open('g.txt');
    await peer.waitFor(() => peer.text('g.txt') === 'alpha!\nbeta\n', 'the typing under the old name on the peer');
    await waitFor('g.txt written on both peers', () => [a, b].every((d) => fs.existsSync(path.join(d, 'g.txt')) && fs.readFileSync(path.join(d, 'g.txt'), 'utf8') === 'alpha!\nbeta\n'));
    // The peer's edits reach the document under its old URI, and its cursor shows there.
    await peer.edit('g.txt', 0, 0, '> ');
    await waitFor('the peer edit under the old URI', () => c.doc('f.txt').text === '> alpha!\nbeta\n');
    await peer.conn.sendNotification('cursor/set', { path: 'g.txt', selections: [{ anchor: { line: 1, character: 2 }, head: { line: 1, character: 2 } }] });
    await waitFor('the peer cursor on the old URI', () => (c.diagnostics.get(c.uri('f.txt')) ?? []).some((d) => / is here$/.test(d.message) && d.range.start.line === 1));
    // Saving under the old name is warned about (the client's write made f.txt a file again).
    await c.conn.sendNotification('textDocument/didSave', { textDocument: { uri: c.uri('f.txt') } });
    await waitFor('the warning about saving under the old name', () => said(c, /you saved f\.txt, which was renamed to g\.txt/).length > 0);

    // The person opens the new name: it takes over the daemon's buffer.
    await c.open('g.txt', fs.readFileSync(path.join(b, 'g.txt'), 'utf8'));
    await waitFor('the hand-over said', () => said(c, /g\.txt is open under its own name now; f\.txt .* no longer shared/).length > 0);
    await waitFor('the new document in step', () => c.doc('g.txt').text === '> alpha!\nbeta\n');
    // A change under the old URI now is not shared, and the person is told (once).
    await c.edit('f.txt', 0, 0, 'old ');
    await c.edit('f.txt', 0, 0, 'old ');
    await waitFor('the unshared change said', () => said(c, /your change to f\.txt was not shared/).length > 0);
    // Closing the old URI closes nothing on the daemon: the new document keeps syncing.
    await c.close('f.txt');
    await c.edit('g.txt', c.doc('g.txt').text.length, c.doc('g.txt').text.length, 'gamma\n');
    await peer.waitFor(() => peer.text('g.txt') === '> alpha!\nbeta\ngamma\n', 'typing under the new name after the old one closed');
    await peer.edit('g.txt', 0, 2, '');
    await waitFor('the peer edit in the new document', () => c.doc('g.txt').text === 'alpha!\nbeta\ngamma\n');
    expect(said(c, /your change to f\.txt was not shared/)).toHaveLength(1);
    expect(said(c, /f\.txt was renamed to g\.txt/)).toHaveLength(1);
    expect(c.messages.filter((m) => m.type === 1)).toEqual([]);
    // The bridge never asked the client to rename or show anything: only text edits.
    expect(c.applyEdits.every((e) => Array.isArray(e.edits))).toBe(true);

    // Closing the new name closes the daemon's buffer.
    await c.close('g.txt');
    await waitFor('g.txt closed on the daemon', async () => {
      const st = await status.request('session/status', null);
      return !(st.buffers as Array<{ path: string; editors: number }>).some((x) => x.path === 'g.txt' && x.editors > 0);
    });

    // Opened again by the old name (the file is gone there): the daemon follows the rename, and
    // the person is told again; no f.txt is made.
    await c.open('f.txt', '');
    await waitFor('the text of g.txt under the old name', () => c.doc('f.txt').text === 'alpha!\nbeta\ngamma\n');
    await waitFor('told again', () => said(c, /f\.txt was renamed to g\.txt/).length === 2);
    await c.edit('f.txt', 0, 0, '#');
    await peer.waitFor(() => peer.text('g.txt') === '#alpha!\nbeta\ngamma\n', 'typing under the old name after reopening it');
    for (const d of [a, b]) expect(fs.existsSync(path.join(d, 'f.txt'))).toBe(false);
  }, 120000);
});
