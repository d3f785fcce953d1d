// Issue 17: the page is a full peer — typing in its CodeMirror editor reaches an editor on the
// sharing daemon and the file on disk, and the reverse reaches the page; a read-only link gives
// a read-only editor.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ScriptedEditor } from '../support/scripted-editor.js';
import { browserSkipReason, editorText, hook, openFile, pageStatus, peerText, Scene, typeIn, until } from './support.js';

const skip = browserSkipReason();

describe.skipIf(skip)('the page as a peer of a daemon (issue 17)', () => {
  const scene = new Scene();
  afterAll(() => scene.close());
  const editors: ScriptedEditor[] = [];
  afterEach(async () => {
    for (const e of editors.splice(0)) e.close();
    await scene.cleanup();
  });

  it('typing in the page reaches an editor on the daemon and the disk; the editor reaches the page', async () => {
    const { url, dir } = scene.share({ 'notes.txt': 'line one\n', 'src/app.ts': 'const a = 1;\n' });
    const page = await scene.open(url);
    await openFile(page, 'notes.txt');
    await until('the file in the editor', async () => (await editorText(page, 'notes.txt')) === 'line one\n');
    const { editor } = ScriptedEditor.connect(dir);
    editors.push(editor);
    await editor.init();
    await editor.open('notes.txt');
    await typeIn(page, 'notes.txt', 'typed in a browser\n');
    const typed = 'typed in a browser\nline one\n';
    await editor.waitFor(() => editor.text('notes.txt') === typed, 'the typing in the editor');
    await until('the typing on disk', async () => fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8') === typed);
    await editor.edit('notes.txt', typed.length, typed.length, 'from neovim\n');
    await until('the editor edit in the page', async () => (await editorText(page, 'notes.txt')) === `${typed}from neovim\n`);
  });

  // Trial s49 (3 of 3): `.env`, `x.key` and a path the session's .gitignore lists, made in a tab,
  // were written on every member's disk (no folder, so no ignore rules, stopped them), and merged
  // with a member's own `.env` when its editor re-opened it (decision 232).
  it('the page makes or renames no file at a path members keep to themselves, and says why', async () => {
    const { url, dir } = scene.share({ '.gitignore': 'secret.local\nbuild/\n', 'a.txt': 'a\n' });
    const page = await scene.open(url);
    await until('the files in the page', async () => (await hook(page, 'files')).some((f) => f.path === 'a.txt'));
    // The page's own message, without playwright's prefix and the page's stack.
    const refusal = (p: Promise<unknown>) => p.then(() => 'made', (e: Error) => e.message.split('\n')[0]!.replace(/^page\.evaluate: Error: /, ''));
    for (const [p, why] of [['.env', 'built-in rule ".env"'], ['src/x.key', 'built-in rule "*.key"'], ['secret.local', '.gitignore has the rule "secret.local"'], ['build/out.js', '.gitignore has the rule "build/"']] as const) {
      expect(await refusal(hook(page, 'create', p, 'SECRET=1\n'))).toBe(`cannot create ${p}: members keep files like it to themselves (${p.endsWith('.env') || p.endsWith('.key') ? `Chorus never shares files that usually hold secrets: ${why}` : why}), and one made here would be written on every member's disk; choose another name`);
    }
    expect(await refusal(hook(page, 'rename', 'a.txt', '.env'))).toMatch(/^cannot rename to \.env: members keep files like it to themselves \(Chorus never shares files that usually hold secrets/);
    // A template is no secret, and any other name is made as before: it reaches the disk.
    expect(await refusal(hook(page, 'create', '.env.example', 'KEY=\n'))).toBe('made');
    await until('.env.example on disk', async () => fs.existsSync(path.join(dir, '.env.example')));
    for (const p of ['.env', 'src/x.key', 'secret.local', 'build/out.js']) expect(fs.existsSync(path.join(dir, p)), p).toBe(false);
    expect(fs.existsSync(path.join(dir, 'a.txt'))).toBe(true);
  });

  it("Ctrl+Z in the page undoes only this person's typing, not the editor's on the daemon", async () => {
    const { url, dir } = scene.share({ 'u.txt': 'middle\n' });
    const page = await scene.open(url);
    await openFile(page, 'u.txt');
    await until('the file in the editor', async () => (await editorText(page, 'u.txt')) === 'middle\n');
    const { editor } = ScriptedEditor.connect(dir);
    editors.push(editor);
    await editor.init();
    await editor.open('u.txt');
    await typeIn(page, 'u.txt', 'mine ');
    await editor.waitFor(() => editor.text('u.txt') === 'mine middle\n', 'the typing in the editor');
    await editor.edit('u.txt', 'mine middle\n'.length, 'mine middle\n'.length, 'theirs\n');
    await until('their edit in the page', async () => (await editorText(page, 'u.txt')) === 'mine middle\ntheirs\n');
    await page.keyboard.press('Control+z');
    await until('only the own typing undone', async () => (await editorText(page, 'u.txt')) === 'middle\ntheirs\n');
    await editor.waitFor(() => editor.text('u.txt') === 'middle\ntheirs\n', 'the undo in the editor');
  });

  it('a read-only link gives a read-only editor: typing changes nothing anywhere', async () => {
    const { url, dir } = scene.share({ 'a.txt': 'look, do not touch\n' }, ['--read-only']);
    const page = await scene.open(url);
    await until('online', async () => (await pageStatus(page)).state === 'online');
    expect((await pageStatus(page)).readOnly).toBe(true);
    await openFile(page, 'a.txt');
    await until('the file in the editor', async () => (await editorText(page, 'a.txt')) === 'look, do not touch\n');
    await typeIn(page, 'a.txt', 'x');
    await page.keyboard.press('Enter');
    await page.getByTestId('read-only-badge').waitFor();
    await new Promise((r) => setTimeout(r, 500));
    expect(await editorText(page, 'a.txt')).toBe('look, do not touch\n');
    expect(await peerText(page, 'a.txt')).toBe('look, do not touch\n');
    expect(fs.readFileSync(path.join(dir, 'a.txt'), 'utf8')).toBe('look, do not touch\n');
  });
});
