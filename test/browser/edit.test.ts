// Issue 17: the page is a full peer — an edit made in the page reaches an editor on the sharing
// daemon and the file on disk, and the reverse; presence (names) crosses both ways; a read-only
// link refuses edits in the page.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ScriptedEditor } from '../support/scripted-editor.js';
import { browserSkipReason, pageStatus, peerEdit, peerText, Scene, until } from './support.js';

const skip = browserSkipReason();

describe.skipIf(skip)('the page as a peer of a daemon (issue 17)', () => {
  const scene = new Scene();
  const editors: ScriptedEditor[] = [];
  afterEach(async () => {
    for (const e of editors.splice(0)) e.close();
    await scene.cleanup();
  });

  it('edits cross both ways between the page, an editor on the daemon and the disk', async () => {
    const { url, dir } = scene.share({ 'src/app.ts': 'const a = 1;\n', 'README.md': '# hi\n' });
    const page = await scene.open(url);
    await until('the index in the page', async () => {
      const files = await page.evaluate(() => (globalThis as unknown as { chorusPeer: { files(): Array<{ path: string }> } }).chorusPeer.files().map((f) => f.path));
      return files.includes('src/app.ts') && files.includes('README.md');
    });
    expect(await peerText(page, 'src/app.ts')).toBe('const a = 1;\n');
    const { editor } = ScriptedEditor.connect(dir);
    editors.push(editor);
    await editor.init();
    await editor.open('src/app.ts');
    await peerEdit(page, 'src/app.ts', 0, 0, '// from the page\n');
    await editor.waitFor(() => editor.text('src/app.ts') === '// from the page\nconst a = 1;\n', 'the page edit in the editor');
    const file = path.join(dir, 'src/app.ts');
    await until('the page edit on disk', async () => fs.readFileSync(file, 'utf8') === '// from the page\nconst a = 1;\n');
    await editor.edit('src/app.ts', 0, 0, '/* editor */');
    await until('the editor edit in the page', async () => (await peerText(page, 'src/app.ts')) === '/* editor */// from the page\nconst a = 1;\n');
  });

  it('a read-only link refuses edits in the page and says why', async () => {
    const { url } = scene.share({ 'a.txt': 'look, do not touch\n' }, ['--read-only']);
    const page = await scene.open(url);
    const status = await until('online', async () => {
      const s = await pageStatus(page);
      return s.state === 'online' ? s : undefined;
    });
    expect(status.readOnly).toBe(true);
    await until('the file in the page', async () => (await peerText(page, 'a.txt')) === 'look, do not touch\n');
    const refused = await page.evaluate(async () => {
      const peer = (globalThis as unknown as { chorusPeer: { edit(p: string, c: unknown[]): void; open(p: string): Promise<{ editable: boolean }> } }).chorusPeer;
      const opened = await peer.open('a.txt');
      try {
        peer.edit('a.txt', [{ from: 0, to: 0, insert: 'x' }]);
        return { editable: opened.editable, error: undefined };
      } catch (e) {
        return { editable: opened.editable, error: (e as Error).message };
      }
    });
    expect(refused.editable).toBe(false);
    expect(refused.error).toMatch(/read-only/);
    expect(await peerText(page, 'a.txt')).toBe('look, do not touch\n');
  });
});
