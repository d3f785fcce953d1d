/**
 * An LSP editor's save through `chorus lsp` (textDocument/willSaveWaitUntil, decision 222), with
 * two real daemons sharing a folder and the scripted LSP client on one of them. Pins the lagging
 * save: the client's document lacked a peer's change still on its way to it (an applyEdit not
 * applied yet), the client wrote its text into the file, and the folder's watcher took that in
 * as a change of the file: the person's last typing applied twice, or the peer's change undone.
 * (Neovim 0.7, the one installed here, sends no willSaveWaitUntil: no real-editor test.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { converged, editor, sharedPair, stopAllPeers, until } from '../support/disk-peers.js';
import { LspClient } from './lsp-client.js';

let client: LspClient | undefined;
afterEach(async () => {
  await client?.stop();
  client = undefined;
  await stopAllPeers();
}, 60000);

const START = 'one\ntwo\n';

it("a save while a peer's change is on its way to the LSP client writes the shared text: nothing doubled, the peer's change kept", async () => {
  const { a, b } = await sharedPair({ 'plan.md': START });
  await converged(a, b, 'the first sync');
  const c = (client = LspClient.start(a.dir));
  const init = await c.initialize();
  expect(init.capabilities.textDocumentSync).toMatchObject({ openClose: true, willSaveWaitUntil: true });
  await c.open('plan.md', START);
  const eb = await editor(b.daemon.project.socketPath);
  await eb.open('plan.md');
  // Answered once the server's buffer/open is done.
  await c.request('textDocument/documentHighlight', { textDocument: { uri: c.uri('plan.md') }, position: { line: 0, character: 0 } });
  // A's client lags: it has not applied the applyEdit carrying Bob's line when Alice types.
  c.policy = 'hold';
  await eb.edit('plan.md', START.length, START.length, 'three from bob\n');
  await until(() => c.heldCount === 1, "the applyEdit with Bob's line at A's client", 20000);
  await until(() => fs.readFileSync(path.join(a.dir, 'plan.md'), 'utf8').includes('three from bob'), "Bob's line in A's folder");
  await c.edit('plan.md', 0, 0, 'zero from alice\n');
  expect(c.doc('plan.md').text).not.toContain('three from bob'); // the case at hand
  // The save; the client gets to the applyEdit while the request waits (and refuses it: its
  // version moved), as a client working through its messages does.
  const edits = await c.save('plan.md', () => {
    c.policy = 'apply';
    c.release();
  });
  expect(edits.map((e) => e.newText).join('')).toContain('three from bob'); // the answer brought the client up to date
  const want = `zero from alice\n${START}three from bob\n`;
  expect(c.doc('plan.md').text).toBe(want);
  await new Promise((r) => setTimeout(r, 1500)); // a take-in of the client's write would have come by now
  const files = await converged(a, b);
  expect(files['plan.md']).toBe(want);
  expect(c.doc('plan.md').text).toBe(want);
  await eb.waitFor(() => eb.text('plan.md') === want, "B's editor to have Alice's line");
}, 90000);

// Trial s62 F1: Neovim 0.7 sends no willSaveWaitUntil, asks "The file has been changed since
// reading it" at `:w` while the daemon keeps writing the file, applies nothing while it asks, and
// on `y` writes its buffer, which lacks what a peer typed meanwhile. That write deleted the peer's
// words on every member (7 of 8 saves in the trial). chorus lsp tells the daemon such a client
// writes its buffers itself, and the daemon knows the write by its text (decision 276).
it("a client without willSaveWaitUntil writes its buffer while a peer's line is on its way to it: the peer's line is kept everywhere", async () => {
  const { a, b } = await sharedPair({ 'plan.md': START });
  await converged(a, b, 'the first sync');
  const c = (client = LspClient.start(a.dir));
  await c.initialize(); // no textDocument.synchronization.willSaveWaitUntil among its capabilities
  await c.open('plan.md', START);
  const eb = await editor(b.daemon.project.socketPath);
  await eb.open('plan.md');
  await c.request('textDocument/documentHighlight', { textDocument: { uri: c.uri('plan.md') }, position: { line: 0, character: 0 } });
  c.policy = 'hold'; // the client is held by its question
  await eb.edit('plan.md', START.length, START.length, 'three from bob\n');
  await until(() => c.heldCount === 1, "the applyEdit with Bob's line at A's client", 20000);
  await until(() => fs.readFileSync(path.join(a.dir, 'plan.md'), 'utf8').includes('three from bob'), "Bob's line in A's folder");
  // `y`: the client writes its text, without Bob's line, and says so after.
  expect(c.doc('plan.md').text).toBe(START);
  fs.writeFileSync(path.join(a.dir, 'plan.md'), c.doc('plan.md').text);
  await c.conn.sendNotification('textDocument/didSave', { textDocument: { uri: c.uri('plan.md') } });
  await new Promise((r) => setTimeout(r, 1500)); // the write taken in (or not) by now
  c.policy = 'apply';
  c.release();
  const want = `${START}three from bob\n`;
  await until(() => c.doc('plan.md').text === want, "Bob's line in A's client", 20000);
  const files = await converged(a, b);
  expect(files['plan.md']).toBe(want);
  await until(() => fs.readFileSync(path.join(a.dir, 'plan.md'), 'utf8') === want, "the session's text back in A's folder", 20000);
  await eb.waitFor(() => eb.text('plan.md') === want, "B's editor keeps Bob's line");
}, 90000);
