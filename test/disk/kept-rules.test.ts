// Decision 164: which rules of this folder a peer's .gitignore change stopped applying, as root
// rules for .chorus/ignore (a guest's `!*.log` published every log the host made afterwards).
import ignore from 'ignore';
import { expect, it } from 'vitest';
import { asRootRule, ruleLines, rulesToKeep } from '../../daemon/src/disk/kept-rules.js';

/** Rules of one root `.gitignore` text, under a built-in `.env` no .gitignore overrides (as IgnoreRules has it), as a test of project paths. */
const rulesOf = (text: string) => {
  const builtIn = ignore().add('.env');
  const ig = ignore().add(text);
  return (rel: string) => builtIn.ignores(rel) || ig.ignores(rel);
};

it('keeps the rules a change removed or negated that stopped ignoring something, and no others', () => {
  expect(rulesToKeep('', '*.log\n', '!*.log\n!.env\n!x.log\n', rulesOf('*.log\n'), rulesOf('!*.log\n!.env\n!x.log\n'))).toEqual(['*.log', 'x.log']);
  // A peer's `*` covers `*.log`: nothing to keep; the revert removes nothing this folder held.
  expect(rulesToKeep('', '*.log\n', '*\n!.gitignore\n', rulesOf('*.log\n'), rulesOf('*\n!.gitignore\n'))).toEqual([]);
  expect(rulesToKeep('', '*.log\n', '*.log\n', rulesOf('*\n!.gitignore\n'), rulesOf('*.log\n'))).toEqual([]);
  // Emptied: what it held is kept; a negation of a name no rule ignored adds nothing.
  expect(rulesToKeep('', '# c\nbuild/\nsecret.json  \n', '!README.md\n', rulesOf('build/\nsecret.json\n'), rulesOf('!README.md\n'))).toEqual(['build/', 'secret.json']);
});

it('writes a rule of a folder below the root as a rule of the root', () => {
  expect(asRootRule('', '*.log')).toBe('*.log');
  expect(asRootRule('sub', '*.log')).toBe('/sub/**/*.log');
  expect(asRootRule('sub', 'out/')).toBe('/sub/**/out/');
  expect(asRootRule('sub', '/out/')).toBe('/sub/out/');
  expect(asRootRule('sub', 'a/b')).toBe('/sub/a/b');
  expect(ruleLines('# c\n\na \n\\#x\nb\\ \n')).toEqual(['a', '\\#x', 'b\\ ']);
});
