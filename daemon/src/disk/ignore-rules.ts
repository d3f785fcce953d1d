/**
 * What is not shared: VCS metadata and `.chorus/` at any depth and in any spelling (path-rules.ts),
 * folders that are Chorus projects of their own (nested-projects.ts), `node_modules/` and
 * well-known secret files (`BUILT_IN`), the daemon's own temporary files, and whatever
 * `.gitignore` files (at any depth), the repository's `.git/info/exclude`, the person's global git
 * excludes file and `.chorus/ignore` exclude. Rules are read with the `ignore` package, which
 * implements gitignore's matching.
 */
import fs from 'node:fs';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { reservedIn } from '../workspace/path-rules.js';
import { BUILT_IN, builtInWhy, gitignoreWhy } from '../workspace/private-by-default.js';
import { isWriteTemp } from './files.js';
import { GitExcludes, globalExcludesFile } from './git-excludes.js';
import { holdsProject, nestedProjectOf } from './nested-projects.js';

export { BUILT_IN };

export { MAX_IGNORE_FILE_BYTES, globalExcludesFile } from './git-excludes.js';

/** Is this project path a `.gitignore` (whose rules apply to its folder and below)? */
export function isIgnoreFile(rel: string): boolean {
  return rel === '.gitignore' || rel.endsWith('/.gitignore');
}

export class IgnoreRules {
  /** Rules per folder (project-relative, '' for the root), from that folder's .gitignore. */
  private byDir = new Map<string, Ignore | null>();
  /** The text of each folder's .gitignore as read into `byDir` (null: it has none). */
  private texts = new Map<string, string | null>();
  private root: Ignore;
  /** The lines of `.chorus/ignore`: a built-in pattern written there too is the person's rule. */
  private readonly ownRules = new Set<string>();

  /**
   * What git itself keeps out besides `.gitignore` files (git-excludes.ts). One object for these
   * rules and every `snapshot` of them: what it learns (a `git init`, a new rule) holds for all.
   */
  private readonly git: GitExcludes;

  /**
   * Rules for the project at `rootDir`. `globalExcludes`: the global git excludes file to read
   * (default: `globalExcludesFile()`; null: none). `.chorus/ignore` is read once: a change
   * applies from the daemon's next start. Git's exclude files are looked at again as they change
   * (the watcher never sees inside `.git/`).
   */
  constructor(
    private readonly rootDir: string,
    globalExcludes: string | null = globalExcludesFile(),
  ) {
    this.git = new GitExcludes(rootDir, globalExcludes);
    this.root = ignore().add(BUILT_IN);
    for (const file of [path.join(rootDir, '.chorus', 'ignore')]) {
      try {
        const text = fs.readFileSync(file, 'utf8');
        this.root.add(text);
        for (const line of text.split(/\r?\n/)) this.ownRules.add(line.trim());
      } catch {
        // no such file
      }
    }
  }

  private rulesOf(dir: string): Ignore | null {
    let rules = this.byDir.get(dir);
    if (rules === undefined) {
      let text: string | null = null;
      try {
        text = fs.readFileSync(path.join(this.rootDir, dir, '.gitignore'), 'utf8');
        rules = ignore().add(text);
      } catch {
        rules = null;
        text = null;
      }
      this.byDir.set(dir, rules);
      this.texts.set(dir, text);
    }
    return rules;
  }

  /** The text of the `.gitignore` of `dir` (project-relative, '' for the root) these rules hold; null when it has none. */
  textOf(dir: string): string | null {
    this.rulesOf(dir);
    return this.texts.get(dir) ?? null;
  }

  /** Forget cached rules (a .gitignore changed). */
  reset(): void {
    this.byDir.clear();
    this.texts.clear();
  }

  /**
   * These rules as they are now, unaffected by a later `reset`: what the folders' `.gitignore`
   * files said when last read (a folder not read yet is read when asked).
   */
  snapshot(): IgnoreRules {
    const copy = Object.create(IgnoreRules.prototype) as IgnoreRules;
    Object.assign(copy, this, { byDir: new Map(this.byDir), texts: new Map(this.texts), projects: this.projects });
    return copy;
  }

  /**
   * These rules with the `.gitignore` of `dir` (project-relative, '' for the root) saying `text`
   * instead (null: none there), unaffected by a later `reset`: what this folder's own version of
   * that file would keep out (decision 164).
   */
  withText(dir: string, text: string | null): IgnoreRules {
    const copy = this.snapshot();
    copy.byDir.set(dir, text === null ? null : ignore().add(text));
    copy.texts.set(dir, text);
    return copy;
  }

  /**
   * Keep `paths` on this machine from now on: they are added to `.chorus/ignore` (this folder's
   * own rules, never shared) under a comment saying why, and ignored at once.
   */
  keepLocal(paths: string[], why: string): void {
    // Anchored at the root ('/'), so a leading '!' or '#' is no longer first; gitignore's
    // wildcards and a trailing space are escaped, so each line names exactly one path.
    this.addOwnRules(paths.map((p) => '/' + p.replace(/[\\*?[\]]/g, '\\$&').replace(/ $/, '\\ ')), why);
  }

  /**
   * Add gitignore `rules` (patterns relative to the project root) to `.chorus/ignore` under a
   * comment saying why, and apply them at once; a rule the file has already is not added again.
   * Returns the rules added.
   */
  addOwnRules(rules: string[], why: string): string[] {
    const lines = [...new Set(rules)].filter((r) => !this.ownRules.has(r));
    if (lines.length === 0) return [];
    const file = path.join(this.rootDir, '.chorus', 'ignore');
    let before = '';
    try {
      before = fs.readFileSync(file, 'utf8');
    } catch {
      // none yet
    }
    const block = `${before && !before.endsWith('\n') ? '\n' : ''}# ${why}\n${lines.join('\n')}\n`;
    fs.appendFileSync(file, block, { mode: 0o600 });
    this.root.add(lines);
    for (const line of lines) this.ownRules.add(line);
    return lines;
  }

  /** Per folder: is it a Chorus project of its own (holds `.chorus/`)? Cached; see `projectsChanged`. */
  private projects = new Map<string, boolean>();

  /** Told of each folder found to be a project of its own that it was not told of (see `tellNewProjects`). */
  private tellProject: ((dir: string) => void) | undefined;
  /** The folders known to be projects of their own: told, or found before `tellNewProjects`. */
  private readonly toldProjects = new Set<string>();
  /** Folders to ask again, soon, because a `.chorus/` appeared or went somewhere (see `projectsChanged`). */
  private recheck: Set<string> | undefined;

  private holds = (dir: string): boolean => {
    let yes = this.projects.get(dir);
    if (yes === undefined) {
      yes = holdsProject(this.rootDir, dir);
      if (this.projects.size >= 100_000) this.projects.clear(); // a bound, not a history
      this.projects.set(dir, yes);
      if (this.tellProject) this.noticeProject(dir, yes);
    }
    return yes;
  };

  private noticeProject(dir: string, yes: boolean): void {
    if (!yes) this.toldProjects.delete(dir); // a later .chorus/ there is told again
    else if (!this.toldProjects.has(dir)) {
      this.toldProjects.add(dir);
      this.tellProject?.(dir);
    }
  }

  /**
   * A `.chorus/` folder appeared or went somewhere below the root: ask the folder again. Once
   * someone is to be told (`tellNewProjects`), the folders asked about so far are asked again at
   * once, not when a file below one is next looked at: the folder a `.chorus/` appeared in (a
   * `chorus share` there) may see no other change for hours, and was told of only at the next start.
   */
  projectsChanged(): void {
    const known = [...this.projects.keys()];
    this.projects.clear();
    if (!this.tellProject) return;
    if (this.recheck) {
      for (const dir of known) this.recheck.add(dir);
      return;
    }
    // Soon, once for a burst: the watcher reports one .chorus/ several times.
    this.recheck = new Set(known);
    setImmediate(() => {
      const dirs = this.recheck ?? new Set<string>();
      this.recheck = undefined;
      for (const dir of dirs) this.holds(dir);
    });
  }

  /**
   * From now on, call `tell` once for each folder found to be a project of its own (a `.chorus/`
   * appeared in it), as soon as it is seen. Not for those found so far: the start's scan says them.
   */
  tellNewProjects(tell: (dir: string) => void): void {
    for (const dir of this.nestedProjects()) this.toldProjects.add(dir);
    this.tellProject = tell;
  }

  /** The folders found so far that are projects of their own (not shared), sorted. */
  nestedProjects(): string[] {
    return [...this.projects].filter(([, yes]) => yes).map(([dir]) => dir).sort();
  }

  /** Is this project-relative path (with a trailing `/` for folders) excluded? */
  ignores(rel: string): boolean {
    return this.why(rel) !== undefined;
  }

  /**
   * Why this project-relative path (with a trailing `/` for folders) is excluded, naming the rule
   * and the file it is in ('.gitignore has the rule "*.log"'); undefined when it is shared.
   */
  why(rel: string): string | undefined {
    const fixed = this.fixedWhy(rel);
    if (fixed) return fixed;
    const root = this.root.test(rel).rule;
    if (root) {
      return BUILT_IN.includes(root.pattern) && !this.ownRules.has(root.pattern)
        ? `${builtInWhy(root.pattern)} by default (built-in rule "${root.pattern}"; a line "!${rel.replace(/\/$/, '')}" in .chorus/ignore shares it)`
        : `.chorus/ignore has the rule "${root.pattern}"`;
    }
    const nested = nestedProjectOf(rel, this.holds);
    if (nested !== undefined) return `it is inside ${nested}/, a Chorus project of its own`;
    // After every .gitignore, as git ranks them (a .gitignore's `!x` may share what these keep;
    // here they keep it still: the safe side).
    return gitignoreWhy(rel, (dir) => this.rulesOf(dir)) ?? this.git.why(rel, rel.replace(/\/$/, '').split('/'));
  }

  /**
   * Is this path kept out by something no ignore rule decides: a reserved folder, the daemon's
   * temporary file, a Chorus project of its own? A file shared already stays shared when a rule
   * later matches it (decision 163); these never are.
   */
  outsideRules(rel: string): boolean {
    return this.fixedWhy(rel) !== undefined || nestedProjectOf(rel, this.holds) !== undefined;
  }

  /** Why `rel` is never shared, by the names Chorus reserves (not by any rule); undefined if not so. */
  private fixedWhy(rel: string): string | undefined {
    const reserved = reservedIn(rel.replace(/\/$/, ''));
    if (reserved) return `it is inside ${reserved}/, which Chorus never shares`;
    // FolderWriter's temporary files, by the one rule that knows their names (files.ts).
    if (!rel.endsWith('/') && isWriteTemp(rel.slice(rel.lastIndexOf('/') + 1))) return 'it is a temporary file of Chorus';
    return undefined;
  }
}
