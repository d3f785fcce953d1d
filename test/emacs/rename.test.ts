/**
 * A file an Emacs has open is renamed on a peer (or on disk): the buffer follows it, and a
 * reconnection to a restarted daemon never empties the buffer nor shares an empty file under the
 * old name (the tester's repro: the buffer stayed f.txt, and after `chorus stop` it came back
 * empty and an empty f.txt spread to every peer).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, waitFor } from '../neovim/support.js';
import { converged, emacsSkipReason, EmacsScene, type Emacs } from './support.js';

const skip = emacsSkipReason();
const text = 'alpha\nbeta\ngamma\n';

/** The file the Emacs's current buffer visits. */
function visited(e: Emacs): Promise<string | null> {
  return e.eval<string | null>('buffer-file-name');
}

/** Stop the daemon of `dir` with `chorus stop` (Emacs notices, and leaves it stopped until `chorus-reconnect`, decision 174). */
function stop(dir: string): void {
  execFileSync(process.execPath, [cli, 'stop', dir], { timeout: 30000 });
}

describe.skipIf(skip)('Emacs client: a file renamed elsewhere', () => {
  let scene: EmacsScene;
  afterEach(async () => {
    await scene?.cleanup();
  });

  /** Bob's Emacs on B/f.txt; Ada renames A/f.txt to A/g.txt; Bob's buffer follows. */
  async function renamedOnPeer(): Promise<{ e: Emacs; a: string; b: string }> {
    scene = new EmacsScene();
    const { a, b } = scene.pair({ 'f.txt': text });
    const e = await scene.emacs();
    await e.edit(path.join(b, 'f.txt'));
    await e.command('(progn (goto-char (point-min)) (forward-line 1) (end-of-line))'); // after "beta"
    fs.renameSync(path.join(a, 'f.txt'), path.join(a, 'g.txt'));
    await waitFor('the buffer to follow the rename', async () => (await visited(e)) === path.join(b, 'g.txt'), 60000);
    return { e, a, b };
  }

  it('follows a rename made on a peer, and typing afterwards lands in the new file on both peers', async () => {
    const { e, a, b } = await renamedOnPeer();
    expect(await e.status()).toMatchObject({ path: 'g.txt', status: 'open' });
    expect(await e.text()).toBe(text);
    // Point stayed on its text, the buffer is not marked modified, and the person was told.
    expect(await e.eval<number>('(point)')).toBe(11);
    expect(await e.eval<boolean | null>('(buffer-modified-p)')).toBeNull();
    expect((await e.messages()).some((m) => /f\.txt was renamed to g\.txt/.test(m))).toBe(true);
    await e.type('! ! !');
    await e.settled();
    const clients = [await scene.client(a), await scene.client(b)];
    const after = await converged([e], clients, [a, b], 'g.txt');
    expect(after).toBe('alpha\nbeta!!!\ngamma\n');
    expect(fs.existsSync(path.join(a, 'f.txt'))).toBe(false);
    expect(fs.existsSync(path.join(b, 'f.txt'))).toBe(false);
  });

  it('keeps the text of a renamed buffer when its daemon is stopped and restarted; no empty file appears', async () => {
    const { e, a, b } = await renamedOnPeer();
    stop(b);
    await waitFor('Emacs to notice', async () => (await e.status())?.connection === 'stopped');
    // The person reconnects, which restarts the daemon, and Emacs re-opens its buffers.
    await e.eval('(chorus-reconnect)');
    await waitFor('the buffer to be shared again', async () => {
      const st = await e.status();
      return st?.connection === 'ready' && st.status === 'open';
    }, 60000);
    expect(await e.text()).toBe(text);
    expect(await visited(e)).toBe(path.join(b, 'g.txt'));
    await e.type('! ! !');
    await e.settled();
    const clients = [await scene.client(a), await scene.client(b)];
    expect(await converged([e], clients, [a, b], 'g.txt')).toBe('alpha\nbeta!!!\ngamma\n');
    expect(fs.existsSync(path.join(a, 'f.txt'))).toBe(false);
    expect(fs.existsSync(path.join(b, 'f.txt'))).toBe(false);
  });

  it('keeps the text of a buffer whose file went while its daemon was away, and shares no empty file', async () => {
    scene = new EmacsScene();
    const { a, b } = scene.pair({ 'f.txt': text });
    const e = await scene.emacs();
    await e.edit(path.join(b, 'f.txt'));
    // No reconnection until asked: the file is renamed on disk while no daemon runs for B.
    await e.eval('(setq chorus-reconnect-min-delay 600 chorus-reconnect-max-delay 600)');
    stop(b);
    await waitFor('Emacs to notice', async () => (await e.status())?.connection === 'stopped');
    fs.renameSync(path.join(b, 'f.txt'), path.join(b, 'g.txt'));
    // Start B's daemon and let it take in the folder before Emacs comes back: the daemon
    // telling of the rename while Emacs re-opens is another case (the crossed open).
    const bob = await scene.client(b);
    await waitFor('the daemon to take in the rename', async () => {
      const files = ((await bob.request('workspace/files', {})) as { files: { path: string }[] }).files.map((f) => f.path);
      return files.includes('g.txt') && !files.includes('f.txt');
    }, 60000);
    await e.eval('(chorus-reconnect)');
    // The restarted daemon no longer has f.txt: the buffer keeps its text, unshared, and
    // f.txt is not made again, empty.
    let seen: unknown;
    await waitFor('the re-open to be decided', async () => {
      const st = await e.status();
      seen = { st, text: await e.eval<string>('(buffer-string)'), messages: await e.messages(), b: fs.readdirSync(b) };
      return st === null;
    }, 60000).catch((err: Error) => {
      throw new Error(`${err.message}; last seen ${JSON.stringify(seen)}`);
    });
    expect(await e.eval<string>('(buffer-string)')).toBe(text);
    await waitFor('the rename to reach the peer', () => fs.existsSync(path.join(a, 'g.txt')), 60000);
    expect(fs.readdirSync(b).filter((f) => f !== '.chorus')).toEqual(['g.txt']);
    expect(fs.existsSync(path.join(a, 'f.txt'))).toBe(false);
    expect((await e.messages()).some((m) => /f\.txt is no longer in the project.*keeps your text/.test(m))).toBe(true);
    expect(await e.eval<boolean | null>('(buffer-modified-p)')).toBe(true);
    expect(await e.eval<string>('buffer-file-name')).toBe(path.join(b, 'f.txt'));
  });

  it('a file renamed in dired right after typing, typed in again at once: each keystroke lands once', async () => {
    scene = new EmacsScene();
    const { a, b } = scene.pair({ 'f.txt': text });
    const e = await scene.emacs();
    await e.edit(path.join(b, 'f.txt'));
    await e.command('(progn (goto-char (point-min)) (forward-line 1) (end-of-line))'); // after "beta"
    // One go, as a person's fast typing around a dired `R`: the last typing is still on its way to
    // the daemon (and not on disk) when the file moves. The buffer is shared again under g.txt.
    // Merged from the disk's text, which lacked "123", the open added "123" a second time.
    await e.eval(`(progn (chorus-driver-type "1 2 3") (require 'dired-aux) (dired-rename-file ${JSON.stringify(path.join(b, 'f.txt'))} ${JSON.stringify(path.join(b, 'g.txt'))} nil) (chorus-driver-type "4 5 6"))`);
    await waitFor('the buffer to be shared again as g.txt', async () => {
      const st = await e.status();
      return st?.status === 'open' && st.path === 'g.txt';
    }, 60000);
    await e.settled();
    const clients = [await scene.client(a), await scene.client(b)];
    expect(await converged([e], clients, [a, b], 'g.txt')).toBe('alpha\nbeta123456\ngamma\n');
    expect(fs.existsSync(path.join(a, 'f.txt'))).toBe(false);
    expect(fs.existsSync(path.join(b, 'f.txt'))).toBe(false);
  });
});
