import { describe, expect, it } from 'vitest';
import { isProjectPath, pathProblem, reservedName } from '../../daemon/src/workspace/path-rules.js';

describe('path rules', () => {
  it('refuses VCS metadata and .chorus at any depth (issue 10: vendor/lib/.git/config ran a command on the host)', () => {
    for (const p of ['vendor/lib/.git/config', 'sub/.git/hooks/pre-commit', '.git/config', 'a/.hg/hgrc', 'x/.svn/wc.db', '.jj/repo', 'a/b/.bzr/x', '_darcs/prefs', '.pijul/config', '.fossil', 'a/.fslckout', 'deep/.chorus/state/index.snap']) {
      expect(isProjectPath(p), p).toBe(false);
    }
  });

  it('folds case, NFKC, ignorable characters, NTFS streams and trailing dots as file systems do', () => {
    for (const seg of ['.GIT', '.Git', '.git.', '.git ', '.git::$INDEX_ALLOCATION', '\uFF0E\uFF47\uFF49\uFF54', '.g\u200Bit', '.gi\uFEFFt', '.HG', '_DARCS', '.ChOrUs']) {
      expect(reservedName(seg), JSON.stringify(seg)).toBeDefined();
    }
    expect(isProjectPath('vendor/lib/.GIT/config')).toBe(false);
  });

  it('accepts ordinary paths, including names that only resemble reserved ones', () => {
    for (const p of ['src/main.ts', '.gitignore', '.github/workflows/ci.yml', 'git/notes.md', '.gitmodules', 'docs/.hgignore', 'a.git/x', 'naïve/ünïcode.txt']) {
      expect(pathProblem(p), p).toBeUndefined();
    }
  });

  it('refuses malformed paths with a reason', () => {
    expect(pathProblem('')).toMatch(/empty/);
    expect(pathProblem('/etc/passwd')).toMatch(/absolute/);
    expect(pathProblem('a/../b')).toMatch(/\.\./);
    expect(pathProblem('a\\b')).toMatch(/backslash/);
    expect(pathProblem('a\nb')).toMatch(/control/);
    expect(pathProblem('x'.repeat(300))).toMatch(/longer than 255/);
    expect(pathProblem(42)).toMatch(/not a string/);
  });

  it('refuses names that would show as another name, or that no file system can hold (a trial)', () => {
    // `\u202Egnp.exe` shows as `exe.png`; a C1 control and a line separator, the same rule as names.
    for (const p of ['\u202Egnp.exe', 'a/b\u200Fc.txt', 'x\u0085.txt', 'line\u2028sep.md', 'i\u2066so.txt']) expect(pathProblem(p), JSON.stringify(p)).toMatch(/text-direction/);
    // Written to disk, a lone surrogate became U+FFFD: two files and a conflict copy on every peer.
    for (const p of ['lone\ud800.txt', 'dir\udc00/x.txt']) expect(pathProblem(p), JSON.stringify(p)).toMatch(/lone UTF-16 surrogate/);
    expect(pathProblem('emoji😀.txt')).toBeUndefined();
  });
});
