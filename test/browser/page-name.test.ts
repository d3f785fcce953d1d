// Pins a user-trial fault: a browser tab whose person picked a name ("Zelda") was listed as
// "guest" by `chorus status` and `status --json` for good, and the editors' first message said
// "guest joined". The tab links up before its person has answered the name dialog; its link's
// hello and its first presence carried the placeholder. Now the page says nothing of itself until
// named, and status gives each peer the name its presence last gave ("(no name yet)" before).
import fs from 'node:fs';
import path from 'node:path';
import * as P from '@chorus/protocol';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { chorus } from '../support/cli.js';
import { ScriptedEditor } from '../support/scripted-editor.js';
import { browserSkipReason, openFile, Scene, until } from './support.js';

const skip = browserSkipReason();

/** The daemon's peers, as `chorus status --json` lists them. */
function statusPeers(dir: string): Array<{ name: string; state?: string }> {
  const r = chorus(['status', dir, '--json']);
  if (r.status !== 0) throw new Error(r.stderr);
  return (JSON.parse(r.stdout) as { peers: Array<{ name: string; state?: string }> }).peers;
}

describe.skipIf(skip)('a browser tab in chorus status', () => {
  const scene = new Scene();
  afterAll(() => scene.close());
  afterEach(() => scene.cleanup());

  it('is the one status and the join message give, also when the tab linked before it was chosen', async () => {
    const { dir, url } = scene.share({ 'a.txt': 'x\n' });
    const editor = await ScriptedEditor.socket(path.join(dir, '.chorus', 'daemon.sock'), { name: 'ed' });
    try {
      await editor.init();
      const page = await scene.open(url, { name: null });
      const dialog = page.getByTestId('name-dialog');
      await dialog.waitFor();
      // Linked while its person still reads the dialog.
      await until('the tab linked to the daemon', async () => statusPeers(dir).some((p) => p.state === 'connected'));
      // Unnamed so far: said so, not its id again in the name's place (a trial read "0907e708 0907e708").
      expect(statusPeers(dir).map((p) => p.name)).toEqual(['(no name yet)']);
      expect(chorus(['status', dir]).stdout).toMatch(/^ {2}\(no name yet\) [0-9a-f]{8} (via \w+ )?connected/m);
      await dialog.locator('input').fill('Zelda');
      await page.keyboard.press('Enter');

      const joined = () => editor.notes.filter((n) => n.method === P.PeerDidJoin.method).map((n) => (n.params as { peer: { name: string } }).peer.name);
      await until('a join message in the editor', async () => joined().length > 0);
      expect(joined()).toEqual(['Zelda']);
      // Its first visit: joined, not "connected again" (trial s60 F2).
      expect(editor.notes.filter((n) => n.method === P.PeerDidJoin.method).map((n) => (n.params as { reason: string }).reason)).toEqual(['joined']);
      await until('status naming the tab Zelda', async () => statusPeers(dir).some((p) => p.name === 'Zelda'));
      expect(statusPeers(dir).map((p) => p.name)).toEqual(['Zelda']);
      const text = chorus(['status', dir]).stdout;
      expect(text).toMatch(/^ {2}Zelda /m);
      expect(text).not.toContain('guest');
    } finally {
      editor.close();
    }
  });

  it('a closed tab is listed as left, not as reconnecting (a trial saw closed tabs "reconnecting" for ten minutes)', async () => {
    const { dir, url } = scene.share({ 'a.txt': 'x\n' });
    const page = await scene.open(url, { name: 'Yara' });
    await until('the tab linked to the daemon', async () => statusPeers(dir).some((p) => p.state === 'connected'));
    // Closed once its person has seen the project, as a person closes a tab: a tab still busy
    // setting up when closed is ended by Chromium before its goodbye runs (the next test).
    await openFile(page, 'a.txt');
    await page.close();
    await until('the tab listed as left', async () => statusPeers(dir).some((p) => p.state === 'left'));
    expect(statusPeers(dir)).toEqual([expect.objectContaining({ name: 'Yara', state: 'left' })]);
    expect(chorus(['status', dir]).stdout).toMatch(/^ {2}Yara [0-9a-f]{8} left \(stopped its daemon or left the session/m);
  });

  it('a tab too busy to say its goodbye when closed is listed as left too: its browser says the page went away', async () => {
    // On WebSocket, as a tab idle for half a minute is (decision 106). A tab killed while on
    // WebRTC goes silent instead, and is listed as reconnecting (docs/decisions/260).
    const { dir, url } = scene.share({ 'a.txt': 'x\n' }, ['--no-webrtc']);
    const page = await scene.open(url, { name: 'Xena' });
    await until('the tab linked to the daemon', async () => statusPeers(dir).some((p) => p.state === 'connected'));
    await openFile(page, 'a.txt');
    // Busy for 3 s when the close comes: Chromium gives a closing tab 500 ms to run `pagehide`.
    // (The evaluation ends with the page, unanswered; its first line says it has begun.)
    const begun = page.waitForEvent('console', (m) => m.text() === 'busy from now on');
    const busy = page
      .evaluate(() => {
        console.log('busy from now on');
        const end = Date.now() + 3000;
        while (Date.now() < end);
      })
      .catch(() => undefined);
    await begun;
    await page.close();
    await busy;
    await until('the tab listed as left', async () => statusPeers(dir).some((p) => p.state === 'left'));
    expect(statusPeers(dir)).toEqual([expect.objectContaining({ name: 'Xena', state: 'left' })]);
    // The browser's word, not the page's: its goodbye never ran.
    const log = fs.readFileSync(path.join(dir, '.chorus', 'daemon.log'), 'utf8');
    expect(log).toMatch(/page went away without its goodbye: listed as left/);
    expect(log).not.toMatch(/is leaving: its tab was closed/);
  });
});
