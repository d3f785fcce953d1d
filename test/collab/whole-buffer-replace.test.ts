// Trial s53b (fault 1): one person's edit that replaces a whole buffer (a paste over everything,
// Neovim's `:%s` or `gg=G`, a formatter) while another person types in it moved the typing to the
// edge of the replaced text, or into a word hundreds of lines away ("le L001 … L030t h"), and cut
// tokens. The edit deleted and inserted again every character it left as it was, and the other
// person's keys, placed next to deleted characters, went wherever the CRDT put them. An editor's
// change is now taken as what it really changed (decision 250): the other person's typing keeps
// its place. Two real daemons on loopback, a scripted editor on each.
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/src/daemon.js';
import { aliceAndBob } from '../support/in-process.js';
import type { ScriptedEditor } from '../support/scripted-editor.js';

let daemons: Daemon[] = [];
let editors: ScriptedEditor[] = [];

afterEach(async () => {
  for (const e of editors.splice(0)) e.close();
  for (const d of daemons.splice(0)) await d.stop();
});

const F = 'code.ts';

/** A source file of `n` lines, each indented by `indent`. */
function source(n: number, indent: string): string {
  return Array.from({ length: n }, (_, i) => `${indent}const value${i} = compute(${i}); // line ${i}`).join('\n') + '\n';
}

for (const [what, lines] of [
  ['a small file (diffed by character)', 40],
  ['a large file (diffed by line)', 1200],
] as const) {
  it(`a whole-buffer re-indent of ${what} while another person types in it: every key of theirs stays where they typed it`, async () => {
    const { A, B, ea, eb } = await aliceAndBob({ [F]: source(lines, '  ') }, [F]);
    daemons = [A, B];
    editors = [ea, eb];
    const id = A.workspace.index.idOf(F)!;
    // Bob types tokens at the end of the line `value7`, one key at a time, without waiting for answers.
    const anchor = 'const value7 = compute(7); // line 7';
    const typed: Array<Promise<null>> = [];
    let token = '';
    for (let i = 0; i < 12; i++) {
      for (const ch of ` T${String(i).padStart(2, '0')}`) {
        const t = eb.text(F);
        const at = t.indexOf(anchor) + anchor.length + token.length;
        typed.push(eb.edit(F, at, at, ch));
        token += ch;
        await new Promise((r) => setTimeout(r, 15));
      }
      if (i === 5) {
        // Alice re-indents the whole buffer: one change, replacing all of it (as a paste over
        // everything or a formatter sends it).
        const before = ea.text(F);
        void ea.edit(F, 0, before.length, before.replace(/^ {2}/gm, '    '));
      }
    }
    await Promise.all(typed);
    const want = source(lines, '    ').replace(anchor, anchor + token);
    await ea.waitFor(() => A.workspace.text(id) === want && B.workspace.text(B.workspace.index.idOf(F)!) === want, 'both daemons to hold the re-indented text with every key where Bob typed it', 30_000).catch(() => undefined);
    expect(A.workspace.text(id)).toBe(want);
    expect(B.workspace.text(B.workspace.index.idOf(F)!)).toBe(want);
  }, 120_000);
}
