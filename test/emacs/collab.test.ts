/**
 * Several real editors at once: batch Emacs processes (and a headless Neovim) typing
 * concurrently on one daemon and on two peered daemons end identical, buffers, daemons and files;
 * an Emacs follows another across files; remote cursors show with the person's name; an Emacs's
 * own-edit undo takes back its older step after a peer emptied the newer one.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cli, neovimSkipReason, waitFor } from '../neovim/support.js';
import { converged, elisp, emacsSkipReason, EmacsScene, type Emacs } from './support.js';

const skip = emacsSkipReason();

/** Keys for a burst of typing: `n` letters, a line break every `every`. */
function burst(letters: string, n: number, every: number): string[] {
  const chars = [...letters];
  return Array.from({ length: n }, (_, i) => (i % every === every - 1 ? 'RET' : chars[i % chars.length]!));
}

/** How many of `keys` are `key`. */
function count(keys: string[], key: string): number {
  return keys.filter((k) => k === key).length;
}

/** Type bursts in several Emacs buffers at once (each from a timer in its own Emacs). */
async function typeTogether(typists: { e: Emacs; keys: string[] }[], interval = 0.01): Promise<void> {
  await Promise.all(typists.map(({ e, keys }) => e.eval(`(chorus-driver-burst '(${keys.map(elisp).join(' ')}) ${interval})`)));
  await waitFor('the typing to finish', async () => {
    const left = await Promise.all(typists.map(({ e }) => e.eval<number>('chorus-driver-burst-left')));
    return left.every((n) => n === 0);
  }, 60000);
}

/**
 * Daemons that several tests use, each test with a file of its own in them: one project (its
 * daemon calls itself Ada) and a pair of peered daemons (Ada's and Bob's). Starting daemons is
 * much of these tests' time; a test that stops a daemon (the peer leaving) has its own.
 */
let shared: EmacsScene | undefined;
let one = '';
let peered = { a: '', b: '' };
beforeAll(() => {
  if (skip) return;
  shared = new EmacsScene();
  one = shared.project({}, 'Ada');
  peered = shared.pair({});
}, 120_000);
afterAll(async () => {
  await shared?.cleanup();
});

/**
 * Put `file`, holding `text`, in the folder `dirs[0]`, and wait until it is in every one of `dirs`
 * (a peer's folder has it once the daemons have synced it): where a test's editors open it.
 */
async function place(dirs: string[], file: string, text: string): Promise<void> {
  fs.writeFileSync(path.join(dirs[0]!, file), text);
  await waitFor(`${file} in every folder`, () => dirs.every((d) => fs.existsSync(path.join(d, file)) && fs.readFileSync(path.join(d, file), 'utf8') === text), 60000);
}

describe.skipIf(skip)('Emacs client: several editors', () => {
  let scene: EmacsScene;
  afterEach(async () => {
    await scene?.cleanup();
  });

  /**
   * Two Emacs, in folder `dirA` and `dirB` (the same folder: one daemon), type bursts at once in
   * `file` — Latin capitals at the end of the first line, Cyrillic where `bStart` puts the other's
   * point — and must end identical everywhere with every keystroke of both.
   */
  async function typeInTwoEmacs(dirA: string, dirB: string, file: string, bStart: string, n: number, everyA: number, everyB: number): Promise<string> {
    const [a, b] = await Promise.all([scene.emacs(), scene.emacs()]);
    await a.edit(path.join(dirA, file));
    await b.edit(path.join(dirB, file));
    expect(await b.text()).toBe('top\nmiddle\nbottom\n');
    await a.command('(progn (goto-char (point-min)) (end-of-line))');
    await b.command(bStart);
    const keysA = burst('ABCDEFGH', n, everyA);
    const keysB = burst('жзий', n, everyB);
    await typeTogether([
      { e: a, keys: keysA },
      { e: b, keys: keysB },
    ]);
    await a.settled();
    await b.settled();
    // How often an edit and a remote change crossed (a stale buffer/didChange was dropped).
    const dropped = await Promise.all([a, b].map((e) => e.eval<number>('(plist-get (chorus-buffer-status) :dropped)')));
    console.log(`stale changes dropped by the revision rule: ${dropped.join(' and ')}`);
    const dirs = [...new Set([dirA, dirB])];
    const clients = await Promise.all(dirs.map((d) => scene.client(d)));
    const text = await converged([a, b], clients, dirs, file);
    // Both people's typing is there, in full.
    expect(text.replace(/[^A-H]/g, '').length).toBe(n - count(keysA, 'RET'));
    expect(text.replace(/[^жзий]/g, '').length).toBe(n - count(keysB, 'RET'));
    expect(text.split('\n').length).toBe(4 + count(keysA, 'RET') + count(keysB, 'RET'));
    return text;
  }

  it('two Emacs typing at once on one daemon end identical', async () => {
    scene = new EmacsScene();
    await place([one], 'together.txt', 'top\nmiddle\nbottom\n');
    expect(await typeInTwoEmacs(one, one, 'together.txt', '(goto-char (point-max))', 50, 10, 7)).toContain('middle');
  });

  it('two Emacs on two peered daemons typing at once end identical, files too', async () => {
    scene = new EmacsScene();
    await place([peered.a, peered.b], 'peered.txt', 'top\nmiddle\nbottom\n');
    await typeInTwoEmacs(peered.a, peered.b, 'peered.txt', '(progn (goto-char (point-min)) (forward-line 1) (end-of-line))', 60, 9, 11);
  });

  it('shows the other Emacs’s cursor with their name, moving, and clears it when they quit', async () => {
    scene = new EmacsScene();
    const dir = one;
    await place([dir], 'cursor.txt', 'alpha\nbeta\ngamma\n');
    const [a, b] = await Promise.all([scene.emacs(), scene.emacs()]);
    await a.edit(path.join(dir, 'cursor.txt'));
    await b.edit(path.join(dir, 'cursor.txt'));
    await a.command('(goto-char 9)'); // beta, on the "t"
    type Ov = { peer: string; start: number; end: number; face: string; label: string | null };
    const overlays = () => b.eval<Ov[] | null>('(chorus-peer-overlays)');
    const ovs = await waitFor('a cursor from the other Emacs', async () => {
      const o = await overlays();
      return o?.some((x) => x.start === 9 && x.end === 10) ? o : undefined;
    });
    expect(ovs.find((o) => o.label)).toMatchObject({ label: 'Ada', start: 11 });
    expect(ovs.find((o) => o.start === 9)!.face).toMatch(/^chorus-peer-[0-9a-f]{6}$/);
    await a.command('(goto-char (point-max))');
    await waitFor('the cursor to move', async () => (await overlays())?.some((x) => x.start === 18 && x.label === null));
    await a.quit();
    await waitFor('the cursor to be cleared', async () => (await overlays()) === null);
  });

  it('clears a peer’s cursor when that peer leaves the session (two peered daemons)', async () => {
    scene = new EmacsScene();
    const { a: dirA, b: dirB } = scene.pair({ 'f.txt': 'alpha\nbeta\n' });
    const b = await scene.emacs();
    await b.edit(path.join(dirB, 'f.txt'));
    // An editor on Ada's daemon puts its cursor on "beta".
    const ada = await scene.client(dirA);
    await ada.text('f.txt');
    const at = { line: 1, character: 1 };
    const overlays = () => b.eval<{ label: string | null }[] | null>('(chorus-peer-overlays)');
    await waitFor('Ada’s cursor', async () => {
      await ada.notify('cursor/set', { path: 'f.txt', selections: [{ anchor: at, head: at }] });
      return (await overlays())?.some((o) => o.label === 'Ada');
    });
    // Ada's daemon stops: she leaves the session, and her cursor goes.
    execFileSync(process.execPath, [cli, 'stop', dirA], { timeout: 30000 });
    await waitFor('the cursor to be cleared', async () => (await overlays()) === null);
    await waitFor('the leave to be told', async () => (await b.messages()).some((m) => /Ada left/.test(m)));
  });

  it('follows another Emacs across files, on two peered daemons, until typing', async () => {
    scene = new EmacsScene();
    const long = Array.from({ length: 300 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
    const { a: dirA, b: dirB } = scene.pair({ 'one.txt': 'one\n', 'two.txt': long });
    const [a, b] = await Promise.all([scene.emacs(), scene.emacs()]); // started together
    await a.edit(path.join(dirA, 'one.txt'));
    await b.edit(path.join(dirB, 'one.txt'));
    // Presence takes a heartbeat to reach the other daemon: ask until it knows Ada.
    await waitFor('to follow Ada', async () => {
      const before = (await b.messages()).length;
      await b.eval('(chorus-follow "Ada")');
      const said = await waitFor('an answer', async () => {
        const m = (await b.messages()).slice(before);
        return m.find((x) => /following Ada|nobody|no peer|not found/i.test(x));
      }, 10000);
      if (/following Ada/.test(said)) return true;
      await new Promise((r) => setTimeout(r, 300));
      return undefined;
    });
    await a.edit(path.join(dirA, 'two.txt'));
    await a.command('(progn (goto-char (point-min)) (forward-line 119))');
    const bFile = () => b.eval<string>('(buffer-file-name (window-buffer (selected-window)))');
    await waitFor('b to follow into two.txt', async () => (await bFile()) === path.join(dirB, 'two.txt'));
    await waitFor('b at her line', async () => (await b.eval<number>('(with-current-buffer (window-buffer (selected-window)) (line-number-at-pos (window-point)))')) === 120);
    await waitFor('two.txt shared in b', async () => (await b.eval<{ path: string } | null>('(chorus-buffer-status (window-buffer (selected-window)))'))?.path === 'two.txt');
    await a.command(`(switch-to-buffer (get-file-buffer ${elisp(path.join(dirA, 'one.txt'))}))`);
    await waitFor('b back in one.txt', async () => (await bFile()) === path.join(dirB, 'one.txt'));
    // Bob types: following stops, and says why.
    await b.eval('(set-buffer (window-buffer (selected-window)))');
    await b.type('h i');
    await waitFor('following to stop', async () => (await b.messages()).some((m) => /stopped following Ada \(you typed\)/.test(m)));
    await a.command(`(switch-to-buffer (get-file-buffer ${elisp(path.join(dirA, 'two.txt'))}))`);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await bFile()).toBe(path.join(dirB, 'one.txt'));
  });

  // The user trial of decision 197, step by step: Bob's `chorus-undo` after a peer's sed emptied
  // his newer step deleted "two", which nobody had typed in the step it undid.
  it('chorus-undo takes back the older step only, after a peer deleted the newer one\'s text', async () => {
    scene = new EmacsScene();
    const original = 'line one\nline two\nline three';
    const { a: dirA, b: dirB } = scene.pair({ 'w.txt': original });
    const b = await scene.emacs();
    await b.edit(path.join(dirB, 'w.txt'));
    await b.command('(progn (goto-char (point-min)) (forward-line 1) (end-of-line))');
    await b.type('SPC B 1');
    await b.settled();
    await new Promise((r) => setTimeout(r, 1200)); // more than the 1 s that makes a new undo step
    await b.command('(goto-char (point-min))');
    await b.type('B 2 SPC');
    const both = 'B2 line one\nline two B1\nline three';
    const inA = () => fs.readFileSync(path.join(dirA, 'w.txt'), 'utf8');
    await waitFor('Bob\'s two steps in Ada\'s folder', () => inA() === both || undefined);
    execFileSync('sed', ['-i', '1s/^B2 //', path.join(dirA, 'w.txt')]);
    await waitFor('the sed in Bob\'s buffer', async () => (await b.text()) === 'line one\nline two B1\nline three' || undefined);
    await b.command('(chorus-undo)');
    await waitFor('the undo in Bob\'s buffer', async () => (await b.text()) !== 'line one\nline two B1\nline three' || undefined);
    const clients = await Promise.all([dirA, dirB].map((d) => scene.client(d)));
    expect(await converged([b], clients, [dirA, dirB], 'w.txt')).toBe(original);
  });
});

const noNvim = skip ? 'emacs missing' : neovimSkipReason();

describe.skipIf(skip || noNvim)('Emacs and Neovim together', () => {
  let scene: EmacsScene;
  afterEach(async () => {
    await scene?.cleanup();
  });

  it('an Emacs and a Neovim typing at once through two peered daemons end identical', async () => {
    scene = new EmacsScene();
    const initial = 'héllo\nwörld\n';
    const { a: dirA, b: dirB } = peered;
    await place([dirA, dirB], 'mixed.txt', initial);
    const [e, n] = await Promise.all([scene.emacs(), scene.nvim()]);
    await e.edit(path.join(dirA, 'mixed.txt'));
    await n.edit(path.join(dirB, 'mixed.txt'));
    expect(await n.text()).toBe(initial);
    await e.command('(progn (goto-char (point-min)) (end-of-line))');
    await n.input('GA');
    const keys = burst('abc🎉', 40, 8);
    const emacsTyping = e.eval(`(chorus-driver-burst '(${keys.map(elisp).join(' ')}) 0.01)`);
    const nvimTyping: Promise<void>[] = [];
    for (let i = 0; i < 40; i++) nvimTyping.push(n.input(i % 9 === 8 ? '<CR>' : 'ж'));
    await Promise.all([emacsTyping, ...nvimTyping]);
    await n.input('<Esc>');
    await waitFor('the Emacs typing to finish', async () => (await e.eval<number>('chorus-driver-burst-left')) === 0);
    await e.settled();
    await n.settled();
    const clients = [await scene.client(dirA), await scene.client(dirB)];
    const text = await converged([e, n], clients, [dirA, dirB], 'mixed.txt');
    expect([...text].filter((c) => c === '🎉').length).toBe(count(keys, '🎉'));
    expect([...text].filter((c) => c === 'ж').length).toBe(36);
    expect(text).toContain('é');
  });
});
