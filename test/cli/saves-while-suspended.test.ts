// Trial s59 F1 (4 of 5 runs): VS Code with auto save typed while its daemon was suspended
// (`kill -STOP`, a laptop lid, a debugger); after the daemon resumed, the person's words, and others'
// typed around then, were in the file two or three times, on every member. What VS Code sends at
// each auto save is scripted here exactly: `buffer/save` with `hold`, no answer within its 1 s
// wait, then `buffer/save` with `writes` (the hash of the text it writes) and its own write of the
// file (decision 255). Those messages, and the typing between them, wait in the stopped daemon's
// socket while the file on disk already holds the typing; on resume the daemon must not take that
// file in as a change made on its last write, on top of the same typing arriving as edits.
// Real daemons, run by the built CLI.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import * as P from '../../protocol/src/index.js';
import { daemonsFor, frozenAfterEach, joinedPair, stopAfterEach, waitUntil } from '../support/cli.js';
import { ScriptedEditor } from '../support/scripted-editor.js';

const used = stopAfterEach();
const { freeze, thaw } = frozenAfterEach();
const editors: ScriptedEditor[] = [];
afterEach(() => {
  for (const e of editors.splice(0)) e.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const read = (dir: string) => fs.readFileSync(path.join(dir, 'f.txt'), 'utf8');
const ignore = () => undefined;

async function editorOf(dir: string, name: string): Promise<ScriptedEditor> {
  const e = await ScriptedEditor.socket(path.join(dir, '.chorus', 'daemon.sock'), { name });
  editors.push(e);
  await e.init();
  return e;
}

/** VS Code's auto save of `file` (BufferSync.willSave): hold, no answer within 1 s, declare the text, write it. */
async function autoSave(e: ScriptedEditor, dir: string, file: string): Promise<void> {
  e.raw(P.BufferSave.method, { path: file, hold: true }).catch(ignore);
  await sleep(1000);
  const text = e.text(file);
  e.raw(P.BufferSave.method, { path: file, writes: createHash('sha256').update(text, 'utf8').digest('hex') }).catch(ignore);
  fs.writeFileSync(path.join(dir, file), text);
}

it("an editor that saves its own text while its daemon is suspended (VS Code's auto save) has each word once, everywhere, once the daemon resumes", async () => {
  const start = 'first line\nsecond line\n';
  const { a, b } = joinedPair({ 'f.txt': start }, used);
  const carol = await editorOf(b, 'carol-vscode');
  const ada = await editorOf(a, 'ada-editor');
  expect(await carol.open('f.txt')).toBe(start);
  expect(await ada.open('f.txt')).toBe(start);
  const [pid] = daemonsFor(b);
  expect(pid).toBeDefined();

  // Carol types words at the top while her daemon is stopped, saving now and then as auto save
  // does; Ada types at the end meanwhile.
  freeze(pid!);
  let carolTyped = '';
  let adaTyped = '';
  for (let i = 0; i < 9; i++) {
    const word = `c${i} `;
    void carol.edit('f.txt', carolTyped.length, carolTyped.length, word).catch(ignore);
    carolTyped += word;
    const ad = ` a${i}`;
    const end = ada.text('f.txt').length - 1; // before the last newline
    await ada.edit('f.txt', end, end, ad);
    adaTyped += ad;
    await sleep(150);
    if (i % 3 === 2) await autoSave(carol, b, 'f.txt');
  }
  thaw(pid!);
  // She types on as the daemon comes back, her edits behind everything it had waiting.
  for (let i = 9; i < 12; i++) {
    const word = `c${i} `;
    void carol.edit('f.txt', carolTyped.length, carolTyped.length, word).catch(ignore);
    carolTyped += word;
    await sleep(100);
  }

  const want = `${carolTyped}first line\nsecond line${adaTyped}\n`;
  const where = () => JSON.stringify({ a: read(a), b: read(b), carol: carol.text('f.txt'), ada: ada.text('f.txt') });
  await waitUntil('every word once in both folders and both editors', () => read(a) === want && read(b) === want && carol.text('f.txt') === want && ada.text('f.txt') === want, 60_000).catch(() => undefined);
  expect(where()).toBe(JSON.stringify({ a: want, b: want, carol: want, ada: want }));
  await sleep(1500); // a late take-in of one of her saves would have come by now
  expect(where()).toBe(JSON.stringify({ a: want, b: want, carol: want, ada: want }));
}, 120_000);
