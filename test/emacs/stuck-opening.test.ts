/**
 * Trial s51 (F1, F2): Emacs buffers stayed `Chorus[opening]` for good after a reconnect and after
 * an open during a daemon stall: their typing was not shared, others' never arrived, and
 * `chorus-reconnect` did nothing. Then `chorus-mode` off and on in such a stale buffer made its
 * text the session's on every member: minutes of two people's typing deleted, nothing said.
 *
 * The answers were lost inside Emacs: a large buffer/open sent from jsonrpc's process filter
 * waited on a full pipe, Emacs read the daemon's output meanwhile and ran the filter inside itself,
 * and jsonrpc 1.0.14 (Emacs 28) parsed the stream wrongly ("Invalid JSON") and dropped answers.
 * The first test makes that happen for real; the others drop an open's answer on purpose (as
 * that bug did), to check what the client does when an answer never comes.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, waitFor, type ProtocolClient } from '../neovim/support.js';
import { daemonsFor } from '../support/cli.js';
import { elisp, emacsSkipReason, EmacsScene, type Emacs } from './support.js';

const skip = emacsSkipReason();

/**
 * Elisp making this Emacs drop the answers to buffer/open named in `chorus-test-drop`, a list of
 * (PATH . N): the Nth answer (counting from when it is set) carrying PATH's content is never
 * handed to the client, as jsonrpc 1.0.14 lost them.
 */
const DROP = `(progn
  (defvar chorus-test-drop nil)
  (advice-add 'jsonrpc-connection-receive :around
    (lambda (f conn msg)
      (let* ((result (plist-get msg :result))
             (entry (and (plist-get msg :id) (consp result) (plist-member result :content)
                         (assoc (plist-get result :path) chorus-test-drop))))
        (if (and entry (= 0 (setcdr entry (1- (cdr entry)))))
            (setq chorus-test-drop (delq entry chorus-test-drop))
          (funcall f conn msg)))))
  t)`;

/** A scripted peer editor types `text` at the start of `file` (it opens the file first: revision 0). */
async function peerTypes(peer: ProtocolClient, file: string, text: string): Promise<void> {
  await peer.text(file);
  const at = { line: 0, character: 0 };
  await peer.request('buffer/edit', { path: file, revision: 0, changes: [{ range: { start: at, end: at }, text }] });
}

/** The status of Emacs buffer `name` (its file's name). */
async function statusOf(e: Emacs, name: string): Promise<string | null> {
  return e.eval<string | null>(`(plist-get (chorus-buffer-status (get-buffer ${elisp(name)})) :status)`);
}

/** What Emacs buffer `name` holds for the daemon. */
function textOf(e: Emacs, name: string): Promise<string | null> {
  return e.eval<string | null>(`(chorus-buffer-text (get-buffer ${elisp(name)}))`);
}

/** Wait until Emacs buffer `name`, the daemon (through `peer`) and the disk hold the same text; it. */
async function inStep(e: Emacs, peer: ProtocolClient, dir: string, name: string, ms = 90000): Promise<string> {
  return waitFor(`${name} in step`, async () => {
    const [mine, daemon] = [await textOf(e, name), await peer.text(name)];
    const disk = fs.readFileSync(path.join(dir, name), 'utf8');
    return mine === daemon && daemon === disk ? daemon : undefined;
  }, ms);
}

describe.skipIf(skip)('Emacs client: buffers whose open got no answer', () => {
  let scene: EmacsScene;
  afterEach(async () => {
    await scene?.cleanup();
  });

  it('large buffers re-opened by chorus-reconnect all end shared, their typing both ways', { timeout: 300_000 }, async () => {
    scene = new EmacsScene();
    // Each re-open sends the text twice (content and base): far more than a pipe holds.
    const big = (k: string) => Array.from({ length: 4000 }, (_, i) => `${k} line ${i} ${'x'.repeat(60)}\n`).join('');
    const names = ['a.txt', 'b.txt', 'c.txt', 'd.txt'];
    const dir = scene.project(Object.fromEntries(names.map((n) => [n, big(n[0]!)])));
    const e = await scene.emacs();
    for (const n of names) await e.edit(path.join(dir, n));
    execFileSync(process.execPath, [cli, 'stop', dir], { timeout: 30000 });
    await waitFor('Emacs to notice', async () => (await e.status())?.connection === 'stopped');
    for (const n of names) await e.eval(`(with-current-buffer ${elisp(n)} (goto-char (point-min)) (insert "typed while stopped\\n"))`);
    await e.eval('(chorus-reconnect)');
    await waitFor('every buffer shared again', async () => {
      for (const n of names) if ((await statusOf(e, n)) !== 'open') return false;
      return true;
    }, 200_000);
    expect((await e.messages()).join('\n')).not.toContain('Invalid JSON');
    const peer = await scene.client(dir);
    for (const n of names) {
      await peerTypes(peer, n, 'from the peer\n');
      await e.eval(`(with-current-buffer ${elisp(n)} (goto-char (point-max)) (insert "from emacs\\n"))`);
      const text = await waitFor(`${n} with both lines`, async () => {
        const t = await inStep(e, peer, dir, n);
        return t.startsWith('from the peer\ntyped while stopped\n') && t.endsWith('from emacs\n') ? t : undefined;
      }, 90000);
      expect(text.split('typed while stopped').length).toBe(2);
    }
  });

  it('a re-open during a daemon stall whose answer is lost opens again once the daemon answers, and shares both ways', { timeout: 180_000 }, async () => {
    scene = new EmacsScene();
    const dir = scene.project({ 'b.txt': 'b\n' });
    const e = await scene.emacs();
    await e.eval(DROP);
    await e.eval('(setq chorus-open-check-delay 1)');
    await e.edit(path.join(dir, 'b.txt'));
    const peer = await scene.client(dir);
    const [pid] = daemonsFor(dir);
    process.kill(pid!, 'SIGSTOP');
    try {
      // A re-open (as a reconnect's) during the stall; the answer to the open carrying the
      // buffer's text (the second: the first is the content-less check) is lost.
      await e.eval(`(setq chorus-test-drop (list (cons "b.txt" 2)))`);
      await e.eval('(chorus--open chorus--state "test")');
      await e.command('(progn (goto-char (point-max)) (insert "typed in the stall\n"))');
      await new Promise((r) => setTimeout(r, 3000));
      expect((await e.status())?.status).toBe('opening');
    } finally {
      process.kill(pid!, 'SIGCONT');
    }
    await waitFor('the open\'s answer dropped', async () => (await e.eval('chorus-test-drop')) === null, 60000);
    await waitFor('b.txt shared', async () => (await e.status())?.status === 'open', 60000);
    await peerTypes(peer, 'b.txt', 'peer\n');
    await e.command('(progn (goto-char (point-max)) (insert "mine\n"))');
    await waitFor('every line everywhere, once', async () => ((await inStep(e, peer, dir, 'b.txt')) === 'peer\nb\ntyped in the stall\nmine\n' ? true : undefined), 60000);
  });

  it('chorus-mode off and on in a buffer that missed others\' changes keeps their typing and the person\'s own', { timeout: 180_000 }, async () => {
    scene = new EmacsScene();
    const dir = scene.project({ 'f.txt': 'one\ntwo\n' });
    const e = await scene.emacs();
    await e.eval(DROP);
    // No automatic recovery here: the buffer stays out of step, as in the trial.
    await e.eval('(setq chorus-open-check-delay 600)');
    await e.edit(path.join(dir, 'f.txt'));
    const peer = await scene.client(dir);
    // A re-open (as after a reconnect) whose answer to the open carrying the text is lost: the
    // first answer is the content-less check (`chorus--open-if-there`), the second the open.
    await e.eval(`(setq chorus-test-drop (list (cons "f.txt" 2)))`);
    await e.eval('(chorus--open chorus--state "test")');
    await waitFor('the open\'s answer dropped', async () => (await e.eval('chorus-test-drop')) === null);
    expect((await e.status())?.status).toBe('opening');
    // Others type; this buffer does not get it.
    await peerTypes(peer, 'f.txt', 'peer one\n');
    await peerTypes(peer, 'f.txt', 'peer two\n');
    await waitFor('the peer\'s typing on disk', () => fs.readFileSync(path.join(dir, 'f.txt'), 'utf8') === 'peer two\npeer one\none\ntwo\n');
    await e.command('(progn (goto-char (point-max)) (insert "mine\\n"))');
    expect(await e.text()).toBe('one\ntwo\nmine\n');
    await e.command('(chorus-mode -1)');
    await e.command('(chorus-mode 1)');
    await waitFor('shared again', async () => (await e.status())?.status === 'open', 60000);
    const text = await inStep(e, peer, dir, 'f.txt');
    // Every line the peer typed is still there, on disk and in the daemon.
    expect(text).toContain('peer two\npeer one\n');
    // The person's line: merged, or kept in a buffer of its own and said so.
    if (!text.includes('mine\n')) {
      const kept = await e.eval<string | null>('(cl-some (lambda (b) (and (string-match-p "your text before sharing again" (buffer-name b)) (with-current-buffer b (buffer-string)))) (buffer-list))');
      expect(kept).toContain('mine\n');
      expect((await e.messages()).join('\n')).toContain('your text before sharing again');
    }
  });

  it('killing a buffer whose open has no answer closes it in the daemon', { timeout: 120_000 }, async () => {
    scene = new EmacsScene();
    const dir = scene.project({ 'a.txt': 'a\n', 'c.txt': 'c\n' });
    const e = await scene.emacs();
    await e.eval(DROP);
    await e.eval('(setq chorus-open-check-delay 600)');
    await e.edit(path.join(dir, 'a.txt'));
    await e.edit(path.join(dir, 'c.txt'));
    const peer = await scene.client(dir);
    // A re-open whose answer to the open carrying the text is lost (the second answer).
    await e.eval(`(setq chorus-test-drop (list (cons "c.txt" 2)))`);
    await e.eval('(chorus--open chorus--state "test")');
    await waitFor('the open\'s answer dropped', async () => (await e.eval('chorus-test-drop')) === null);
    expect((await e.status())?.status).toBe('opening');
    const editorsOf = async (file: string) => ((await peer.request('session/status', null)) as { buffers: { path: string; editors: number }[] }).buffers.find((b) => b.path === file)?.editors ?? 0;
    expect(await editorsOf('c.txt')).toBe(1);
    await e.eval('(kill-buffer "c.txt")');
    await waitFor('c.txt closed in the daemon', async () => (await editorsOf('c.txt')) === 0, 30000);
    expect(await editorsOf('a.txt')).toBe(1);
  });
});
