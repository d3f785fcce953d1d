/**
 * Trial s53b, fault 4: a person's `query-replace` in Emacs while a script typed into the same
 * file from another editor lost the script's characters. query-replace shows a match and waits
 * for a key, holding the match as integers; Emacs runs process filters meanwhile, and chorus.el
 * applied the other editor's typing, made before the match, at once. The person's `!` then
 * replaced the characters where the match had been: the typist's. A remote change is now held
 * while a command runs and applied when it ends (the revision rule drops it as stale, and the
 * daemon sends it again past the replacement, when the command made edits).
 */
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { ScriptedEditor } from '../support/scripted-editor.js';
import { converged, emacsSkipReason, EmacsScene } from './support.js';

const skip = emacsSkipReason();

/** `n` lines; the typist types at the end of line `typistLine` (0-based), after its marker. */
function source(n: number): string {
  return Array.from({ length: n }, (_, i) => `    const value${i} = compute(${i}); // line ${i}`).join('\n') + '\n';
}

let scene: EmacsScene | undefined;
let typist: { editor: ScriptedEditor; proc: { kill(): boolean } } | undefined;
afterEach(async () => {
  typist?.editor.close();
  typist?.proc.kill();
  typist = undefined;
  await scene?.cleanup();
});

it.skipIf(skip)('query-replace waiting for its key while another editor types before the match: `!` replaces the match, and every typed key stays', async () => {
  scene = new EmacsScene();
  const F = 'code.js';
  const lines = 40;
  const dir = scene.project({ [F]: source(lines) }, 'Ada');
  const e = await scene.emacs();
  await e.edit(path.join(dir, F));
  typist = ScriptedEditor.connect(dir, { name: 'typist' });
  const t = typist.editor;
  await t.init();
  await t.open(F);
  // The person looks for a key for a while (a batch Emacs reads keys from stdin, so the wait is
  // made here, as an interactive Emacs waits: running timers and process filters), then says `!`.
  await e.eval(`(progn
    (defvar chorus-test-answers nil)
    (advice-add 'read-event :around
      (lambda (orig &rest args)
        (if (null chorus-test-answers) (apply orig args)
          (let ((end (+ (float-time) 2.0))) (while (< (float-time) end) (accept-process-output nil 0.02)))
          (pop chorus-test-answers)))
      '((name . chorus-test-wait)))
    (setq chorus-test-answers (list ?!)))`);
  // From the start of line 21, the line after the typist's: the first match is just after its typing.
  await e.command('(progn (goto-char (point-min)) (forward-line 21))');
  const replacing = e.type('M-% value RET amount RET');
  await new Promise((r) => setTimeout(r, 400)); // the prompt is up
  const typed = ' T1 T2 T3 T4 T5 T6';
  const anchor = '// line 20';
  const sent: Promise<unknown>[] = [];
  for (const ch of typed) {
    const text = t.text(F);
    const at = text.indexOf('\n', text.indexOf(anchor));
    sent.push(t.edit(F, at, at, ch));
    await new Promise((r) => setTimeout(r, 30));
  }
  await Promise.all(sent);
  await replacing;
  await e.settled();
  const want = source(lines)
    .split('\n')
    .map((l, i) => (i === 20 ? l + typed : i > 20 ? l.replace(/value/g, 'amount') : l))
    .join('\n');
  const text = await converged([e], [await scene.client(dir)], [dir], F);
  expect(text.split('\n')[20]).toBe(`    const value20 = compute(20); // line 20${typed}`);
  expect(text).toBe(want);
  await t.waitFor(() => t.text(F) === want, 'the typist to hold the same text', 10_000);
}, 60_000);
