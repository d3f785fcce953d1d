/**
 * C-x C-s of a shared buffer in Emacs (decision 222): the daemon writes the shared text into the
 * file (`buffer/save`) and `save-buffer` returns once the file holds it, so whatever reads the file
 * right after saving (an `after-save-hook`, `M-x compile`, a test runner, magit) reads the text just
 * saved. Emacs used to mark the buffer saved once the daemon had the edits, and the daemon wrote
 * the file after 100 ms of quiet: read at once, the file still held the text from before.
 *
 * With `chorus-manage-modified` (the default) a buffer shows as saved once the daemon has every
 * edit, a few ms after typing, while the daemon writes the file only after 100 ms of quiet. A save
 * in between used to say "(No changes need to be saved)" and return with the file lacking the
 * typing (a new-user trial, 24 of 24). It now saves as a modified buffer does: `after-save-hook`
 * runs and reads the text, and Emacs says "Wrote". A second save with nothing new does neither.
 * `save-some-buffers` has the daemon write such a buffer without a word or a hook.
 *
 * An ignored file is no shared buffer: Emacs saves it itself. It used to be kept in `chorus-mode`,
 * its typing marked saved, and the file never written.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../neovim/support.js';
import { converged, elisp, emacsSkipReason, EmacsScene } from './support.js';

const skip = emacsSkipReason();

/**
 * In one Emacs call: type `keys` (queued as a person's typing is), `save-buffer`, and read the
 * file's bytes from disk right after it returns. The buffer's text, the file's (decoded) text,
 * whether the bytes are the buffer's text encoded, and whether the buffer is still modified.
 */
function typeSaveRead(keys: string): string {
  return `(progn
    (chorus-driver-type ${elisp(keys)})
    (save-buffer)
    (let* ((file buffer-file-name)
           (bytes (with-temp-buffer
                    (set-buffer-multibyte nil)
                    (insert-file-contents-literally file)
                    (buffer-string)))
          (text (save-restriction (widen) (buffer-substring-no-properties (point-min) (point-max)))))
      (list :buffer text
            :disk (decode-coding-string bytes 'utf-8-unix)
            :same (equal bytes (encode-coding-string text 'utf-8-unix))
            :modified (buffer-modified-p))))`;
}

/** The file's bytes, read at once, as a unibyte string. */
const fileBytes = `(with-temp-buffer
  (set-buffer-multibyte nil)
  (insert-file-contents-literally file)
  (buffer-string))`;

/**
 * In one Emacs call: type `keys`, wait until the daemon has acknowledged them (the buffer shows as
 * unmodified, `chorus-manage-modified`), `save-buffer` at once and read the file's bytes. Also
 * what each run of `after-save-hook` found in the file (`chorus-test-hook-read`, newest first).
 */
function typeSettleSaveRead(keys: string): string {
  return `(progn
    (defvar chorus-test-hook-read nil)
    (setq chorus-test-hook-read nil)
    (add-hook 'after-save-hook
              (lambda () (let ((file buffer-file-name)) (push ${fileBytes} chorus-test-hook-read)))
              nil t)
    (chorus-driver-type ${elisp(keys)})
    (let ((modified-after-typing (buffer-modified-p))
          (deadline (+ (float-time) 5)))
      (while (and (buffer-modified-p) (< (float-time) deadline))
        (accept-process-output nil 0.002))
      (let ((settled (not (buffer-modified-p))))
        (save-buffer)
        (let* ((file buffer-file-name)
               (bytes ${fileBytes})
               (text (save-restriction (widen) (buffer-substring-no-properties (point-min) (point-max)))))
          (list :typed modified-after-typing
                :settled settled
                :buffer text
                :same (equal bytes (encode-coding-string text 'utf-8-unix))
                :hook (equal chorus-test-hook-read (list (encode-coding-string text 'utf-8-unix)))
                :modified (buffer-modified-p))))))`;
}

/** nil comes back as null. */
type Saved = { buffer: string; disk: string; same: true | null; modified: true | null };

describe.skipIf(skip)('Emacs client: saving', () => {
  let scene: EmacsScene;
  afterEach(async () => {
    await scene?.cleanup();
  });

  it('when save-buffer returns, the file holds the text just typed; the peer gets it; nothing is said but Wrote', async () => {
    scene = new EmacsScene();
    const { a: dirA, b: dirB } = scene.pair({ 'f.txt': 'top\nbottom\n' });
    await waitFor('f.txt in the peer folder', () => fs.existsSync(path.join(dirB, 'f.txt')), 60000);
    const e = await scene.emacs();
    await e.edit(path.join(dirA, 'f.txt'));
    await e.command('(progn (goto-char (point-min)) (end-of-line))');
    for (const [keys, want] of [
      ['SPC s a v e d', 'top saved\nbottom\n'],
      ['RET é t é', 'top saved\nété\nbottom\n'],
    ] as const) {
      const r = await e.eval<Saved>(typeSaveRead(keys));
      expect(r.buffer).toBe(want);
      expect(r.disk).toBe(want);
      expect(r.same).toBe(true);
      expect(r.modified).toBe(null);
    }
    const want = 'top saved\nété\nbottom\n';
    expect(await converged([e], [await scene.client(dirA), await scene.client(dirB)], [dirA, dirB], 'f.txt')).toBe(want);
    const messages = await e.messages();
    expect(messages.filter((m) => /^chorus:/.test(m))).toEqual([]);
    expect(messages.filter((m) => /^Wrote /.test(m))).toEqual([expect.stringMatching(/\/f\.txt$/), expect.stringMatching(/\/f\.txt$/)]);
  });

  it('save-buffer right after the daemon acknowledged the typing (the buffer shows as saved) still has the file written', async () => {
    scene = new EmacsScene();
    const { a: dirA } = scene.pair({ 'f.txt': 'top\nbottom\n' });
    const e = await scene.emacs();
    await e.edit(path.join(dirA, 'f.txt'));
    await e.command('(progn (goto-char (point-min)) (end-of-line))');
    for (const [keys, want] of [
      ['SPC o n e', 'top one\nbottom\n'],
      ['RET d e u x', 'top one\ndeux\nbottom\n'],
    ] as const) {
      const wrote = (await e.messages()).filter((m) => /^Wrote /.test(m)).length;
      const r = await e.eval<Record<string, unknown>>(typeSettleSaveRead(keys));
      expect(r).toEqual({ typed: true, settled: true, buffer: want, same: true, hook: true, modified: null });
      // Said as Emacs says it after writing a file, once.
      expect((await e.messages()).filter((m) => /^Wrote /.test(m))).toHaveLength(wrote + 1);
    }
    // Nothing new since: no write is claimed and after-save-hook does not run again.
    const wrote = (await e.messages()).filter((m) => /^Wrote /.test(m)).length;
    const again = await e.eval<Record<string, unknown>>(`(progn (setq chorus-test-hook-read nil) (save-buffer)
      (list :hook chorus-test-hook-read :modified (buffer-modified-p)))`);
    expect(again).toEqual({ hook: null, modified: null });
    expect((await e.messages()).filter((m) => /^Wrote /.test(m))).toHaveLength(wrote);
    // save-some-buffers (M-x compile runs it) has the daemon write a buffer shown as saved, quietly.
    const some = await e.eval<Record<string, unknown>>(
      typeSettleSaveRead('SPC t r o i s').replace('(save-buffer)', '(save-some-buffers t)'),
    );
    expect(some).toEqual({ typed: true, settled: true, buffer: 'top one\ndeux trois\nbottom\n', same: true, hook: null, modified: null });
    expect((await e.messages()).filter((m) => /^Wrote /.test(m))).toHaveLength(wrote);
    expect((await e.messages()).filter((m) => /^chorus:/.test(m))).toEqual([]);
    expect(fs.readFileSync(path.join(dirA, 'f.txt'), 'utf8')).toBe('top one\ndeux trois\nbottom\n');
  });

  it('an ignored file is saved by Emacs itself, and the person is told once that it is not shared', async () => {
    scene = new EmacsScene();
    const dir = scene.project({ '.gitignore': 'local.txt\n', 'local.txt': 'mine\n' }, 'Ada');
    const e = await scene.emacs();
    await e.eval(`(chorus-driver-visit ${elisp(path.join(dir, 'local.txt'))})`);
    const told = async () => (await e.messages()).filter((m) => /local\.txt is ignored/.test(m));
    await waitFor('the buffer to be told it is not shared', async () => (await told()).length > 0, 30000);
    expect(await e.eval('chorus-mode')).toBe(null);
    await e.command('(goto-char (point-max))');
    const r = await e.eval<Saved>(typeSaveRead('m o r e RET'));
    expect(r.buffer).toBe('mine\nmore\n');
    expect(r.disk).toBe('mine\nmore\n');
    expect(r.modified).toBe(null);
    expect(await told()).toHaveLength(1);
    expect(await told()).toEqual([expect.stringMatching(/stays on this machine/)]);
  });
});
