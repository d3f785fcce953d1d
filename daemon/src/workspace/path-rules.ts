/**
 * Which project paths Chorus may ever read, index, share or write: the one home of that rule.
 *
 * A path is `/`-separated and relative to the project root. It may never name, at any depth, the
 * metadata of a version-control system or Chorus's own folder: a peer that could write
 * `vendor/lib/.git/config` could make the host's next `git status` run a command
 * (`core.fsmonitor`), and `.hg/hgrc` or `.svn` hooks are the same. Names are compared the way a
 * case-insensitive or normalising file system (APFS, HFS+, NTFS, ext4 casefold) would compare
 * them, so `.GIT`, `.Git`, `.git.` (NTFS drops trailing dots and spaces), `.git::$DATA` (an NTFS
 * stream), a full-width `．ｇｉｔ` (NFKC) and `.g\u200Bit` (HFS+ ignores zero-width characters)
 * are all `.git`. Refusing a few odd but harmless names is the price of never missing one.
 *
 * Platform-neutral (no `fs`): the daemon, the peer core and the browser page share it.
 */
import { hasControls } from '../log-line.js';
import { hasLoneSurrogate } from '../text/decode-text.js';

/** Metadata folders (and files) of the common version-control systems, in their canonical case. */
export const VCS_METADATA = ['.git', '.hg', '.svn', '.jj', '.bzr', '_darcs', '.pijul', '.fossil', '.fslckout', '_fossil_'] as const;

/** Chorus's own per-project folder (`.chorus/`: socket, lock, log, state, blobs). */
export const CHORUS_DIR = '.chorus';

/** Every name no path segment may fold to. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([...VCS_METADATA, CHORUS_DIR]);

/** The longest project path, in UTF-16 units, that Chorus accepts (Linux PATH_MAX is 4096 bytes). */
export const MAX_PATH_LENGTH = 4096;

/** The longest single segment, in UTF-16 units (NAME_MAX is 255 bytes on every common file system). */
export const MAX_SEGMENT_LENGTH = 255;

// Default-ignorable code points that HFS+/APFS and some tools drop when comparing names:
// soft hyphen, combining grapheme joiner, zero-width and bidi marks, word joiner and invisible
// operators, variation selectors, BOM, tags.
const IGNORABLE = /[\u00AD\u034F\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\u{1D173}-\u{1D17A}\u{E0000}-\u{E0FFF}]/gu;

/**
 * The forms a file system might treat `segment` as: NFKC, without ignorable characters, without
 * an NTFS stream suffix or trailing dots/spaces, lower-cased both directly and through upper case
 * (so dotless `ı` and `ſ` fold as a case-insensitive volume folds them).
 */
function foldedForms(segment: string): string[] {
  let s = segment.normalize('NFKC').replace(IGNORABLE, '');
  const colon = s.indexOf(':');
  if (colon > 0) s = s.slice(0, colon);
  s = s.replace(/[. ]+$/, '');
  const lower = s.toLowerCase();
  const viaUpper = s.toUpperCase().toLowerCase();
  return lower === viaUpper ? [lower] : [lower, viaUpper];
}

/** The reserved name (e.g. `.git`) that one path segment would be taken for, or undefined. */
export function reservedName(segment: string): string | undefined {
  for (const form of foldedForms(segment)) if (RESERVED_NAMES.has(form)) return form;
  return undefined;
}

/** The first reserved name any segment of a `/`-separated relative path folds to, or undefined. */
export function reservedIn(rel: string): string | undefined {
  for (const part of rel.split('/')) {
    const name = reservedName(part);
    if (name) return name;
  }
  return undefined;
}

/**
 * Why `p` can never be a project path, or undefined when it can. A project path is a non-empty
 * string of at most `MAX_PATH_LENGTH` units, relative, `/`-separated, with no empty, `.` or `..`
 * segment, no segment over `MAX_SEGMENT_LENGTH`, no NUL, backslash or other control character,
 * and no segment that folds to a reserved name (see the file header).
 */
export function pathProblem(p: unknown): string | undefined {
  if (typeof p !== 'string') return 'it is not a string';
  if (p.length === 0) return 'it is empty';
  if (p.length > MAX_PATH_LENGTH) return `it is longer than ${MAX_PATH_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001F\u007F\\]/.test(p)) return 'it has a backslash or a control character';
  // Characters that change how a name reads without showing (C1 controls, line separators,
  // text-direction marks and overrides: `\u202Egnp.exe` shows as `exe.png`), refused as in
  // person names (person-name.ts); and a lone surrogate, which no file system name can hold.
  if (hasControls(p)) return 'it has an invisible control or text-direction character (it would show as another name)';
  if (hasLoneSurrogate(p)) return 'it has a character that is not valid Unicode (a lone UTF-16 surrogate)';
  const parts = p.split('/');
  if (parts.some((s) => s === '' || s === '.' || s === '..')) return 'it is absolute, or has an empty, "." or ".." part';
  if (parts.some((s) => s.length > MAX_SEGMENT_LENGTH)) return `a part is longer than ${MAX_SEGMENT_LENGTH} characters`;
  const reserved = reservedIn(p);
  if (reserved) return `it is inside ${reserved}/, which Chorus never reads, shares or writes`;
  return undefined;
}

/** Is `p` a path the project may hold (see `pathProblem`)? */
export function isProjectPath(p: unknown): p is string {
  return pathProblem(p) === undefined;
}
