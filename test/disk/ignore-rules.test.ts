// IgnoreRules.why names the rule that keeps a path local, and the file it is in: an editor was
// told ".env is ignored (.gitignore or .chorus/ignore)" when neither had a rule for it (a trial).
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { IgnoreRules } from '../../daemon/src/disk/ignore-rules.js';
import { tempProject } from '../support/project-dir.js';

it('says which rule keeps a path local, and where it is written', () => {
  const root = tempProject({ '.gitignore': '*.log\n', 'sub/.gitignore': 'out/\n', 'a.txt': 'a\n', 'inner/.chorus/session.json': '{}' });
  fs.mkdirSync(path.join(root, '.chorus'), { recursive: true });
  fs.writeFileSync(path.join(root, '.chorus', 'ignore'), 'secret.txt\n*.pem\n');
  try {
    expectReasons(new IgnoreRules(root));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

function expectReasons(rules: IgnoreRules): void {
  const cases: Record<string, string | undefined> = {
    'a.txt': undefined,
    '.env.example': undefined,
    '.env': 'Chorus never shares files that usually hold secrets by default (built-in rule ".env"; a line "!.env" in .chorus/ignore shares it)',
    'config/.env.local': 'Chorus never shares files that usually hold secrets by default (built-in rule ".env.*"; a line "!config/.env.local" in .chorus/ignore shares it)',
    'node_modules/x/index.js': 'Chorus never shares node_modules/ by default (built-in rule "node_modules/"; a line "!node_modules/x/index.js" in .chorus/ignore shares it)',
    // A built-in pattern the person also wrote in .chorus/ignore is theirs.
    'certs/site.pem': '.chorus/ignore has the rule "*.pem"',
    'secret.txt': '.chorus/ignore has the rule "secret.txt"',
    'build.log': '.gitignore has the rule "*.log"',
    'sub/out/x.js': 'sub/.gitignore has the rule "out/"',
    'inner/x.txt': 'it is inside inner/, a Chorus project of its own',
    '.git/config': 'it is inside .git/, which Chorus never shares',
  };
  for (const [rel, why] of Object.entries(cases)) {
    expect(rules.why(rel), rel).toBe(why);
    expect(rules.ignores(rel), rel).toBe(why !== undefined);
  }
}

it("keeps what git's other exclude files keep: the repository's .git/info/exclude and the global excludes file (a trial: an .envrc ignored only there reached peers)", () => {
  const root = tempProject({ '.git/info/exclude': '# local\n.envrc\n', 'a.txt': 'a\n', '.envrc': 'export AWS_SECRET=x\n', 'notes/todo.secret': 'x\n', 'sub/proj/local.txt': 'x\n', 'sub/proj/b.txt': 'b\n' });
  const global = path.join(tempProject({ 'ignore': '*.secret\n!keep.secret\n' }), 'ignore');
  try {
    const rules = new IgnoreRules(root, global);
    expect(rules.why('.envrc')).toBe('.git/info/exclude has the rule ".envrc"');
    expect(rules.why('notes/todo.secret')).toBe(`your global git excludes file (${global}) has the rule "*.secret"`);
    expect(rules.why('keep.secret')).toBeUndefined();
    expect(rules.why('a.txt')).toBeUndefined();
    expect(new IgnoreRules(root, null).why('notes/todo.secret')).toBeUndefined();
    // A project inside the repository: the repository's rules, from the repository's root.
    fs.appendFileSync(path.join(root, '.git/info/exclude'), 'sub/proj/local.txt\n');
    const inner = new IgnoreRules(path.join(root, 'sub', 'proj'), null);
    expect(inner.why('local.txt')).toBe(`the repository's .git/info/exclude (in ${root}) has the rule "sub/proj/local.txt"`);
    expect(inner.why('b.txt')).toBeUndefined();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(path.dirname(global), { recursive: true, force: true });
  }
});

/** Wait past the time IgnoreRules trusts what it last read of the exclude files (a few ms). */
const later = () => new Promise((r) => setTimeout(r, 1100));

it("keeps what a nested repository's .git/info/exclude keeps, and rules added to exclude files while it runs (a trial: both were shared, 3 of 3 and 2 of 2)", async () => {
  const root = tempProject({ '.git/info/exclude': '# local\n', 'a.txt': 'a\n', 'lib/nested/.git/info/exclude': 'nested-secret.txt\n', 'lib/nested/code.js': 'x\n' });
  try {
    const rules = new IgnoreRules(root, null);
    // Git applies a repository's exclude file to its own work tree, a folder of the project here.
    expect(rules.why('lib/nested/nested-secret.txt')).toBe('lib/nested/.git/info/exclude has the rule "nested-secret.txt"');
    expect(rules.why('lib/nested/deeper/nested-secret.txt')).toBe('lib/nested/.git/info/exclude has the rule "nested-secret.txt"');
    expect(rules.why('nested-secret.txt')).toBeUndefined();
    expect(rules.why('lib/nested/code.js')).toBeUndefined();
    expect(rules.why('outer.txt')).toBeUndefined();
    expect(rules.why('lib/nested/added.txt')).toBeUndefined();
    // Rules added while the daemon runs: the watcher never sees inside .git/, so they are looked at again.
    fs.appendFileSync(path.join(root, '.git/info/exclude'), 'outer.txt\n');
    fs.appendFileSync(path.join(root, 'lib/nested/.git/info/exclude'), 'added.txt\n');
    await later();
    expect(rules.why('outer.txt')).toBe('.git/info/exclude has the rule "outer.txt"');
    expect(rules.why('lib/nested/added.txt')).toBe('lib/nested/.git/info/exclude has the rule "added.txt"');
    // A repository made inside the project while it runs (`git init`, then a rule).
    expect(rules.why('vendor/fresh/fresh.notes')).toBeUndefined();
    fs.mkdirSync(path.join(root, 'vendor/fresh/.git/info'), { recursive: true });
    fs.writeFileSync(path.join(root, 'vendor/fresh/.git/info/exclude'), 'fresh.notes\n');
    await later();
    expect(rules.why('vendor/fresh/fresh.notes')).toBe('vendor/fresh/.git/info/exclude has the rule "fresh.notes"');
    // A rule taken out shares the path again (as a .gitignore's does).
    fs.writeFileSync(path.join(root, '.git/info/exclude'), '# local\n');
    await later();
    expect(rules.why('outer.txt')).toBeUndefined();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

it('a project made a git repository while the daemon runs (`git init`) keeps what its new .git/info/exclude names (a re-check: shared, 3 of 3)', async () => {
  const root = tempProject({ 'a.txt': 'a\n' });
  try {
    const rules = new IgnoreRules(root, null);
    expect(rules.why('bx.txt')).toBeUndefined();
    fs.mkdirSync(path.join(root, '.git/info'), { recursive: true });
    fs.writeFileSync(path.join(root, '.git/info/exclude'), 'bx.txt\n');
    await later();
    expect(rules.why('bx.txt')).toBe('.git/info/exclude has the rule "bx.txt"');
    expect(rules.why('a.txt')).toBeUndefined();
    // And a rule added to it later applies at once, as for a repository there from the start.
    fs.appendFileSync(path.join(root, '.git/info/exclude'), 'bx2.txt\n');
    await new Promise((r) => setTimeout(r, 20));
    expect(rules.why('bx2.txt')).toBe('.git/info/exclude has the rule "bx2.txt"');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
