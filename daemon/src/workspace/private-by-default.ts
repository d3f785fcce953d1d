/**
 * Paths a member keeps off the session by default, as a platform-neutral rule (decision 232): the
 * built-in rules for well-known secret files, and the `.gitignore` files the session shares. The
 * daemon's IgnoreRules (disk/ignore-rules.ts) applies these and a folder's own rules to the files
 * it reads; the browser page, which has no folder, asks `privateByDefault` before it makes or
 * renames a file, since every member without a file of its own there would get it on disk.
 */
import ignore, { type Ignore } from 'ignore';

/**
 * Never shared unless `.chorus/ignore` says so (`!.env`): `node_modules/`, and files that by
 * their well-known names hold secrets — environment files (their committed templates are
 * shared), private keys and certificates' keys, and credential files. A `.env` that no
 * `.gitignore` mentions was copied to every peer, with nothing said (a new-user trial); nothing
 * secret may leave the machine by default.
 */
export const BUILT_IN = [
  'node_modules/',
  '.env',
  '.env.*',
  '!.env.example',
  '!.env.sample',
  '!.env.template',
  '!.env.dist',
  '*.pem',
  '*.key',
  'id_rsa',
  'id_dsa',
  'id_ecdsa',
  'id_ed25519',
  '.netrc',
];

const builtIn = ignore().add(BUILT_IN);

/** Why a built-in rule `pattern` keeps a path out, in words ('Chorus never shares files that usually hold secrets'). */
export function builtInWhy(pattern: string): string {
  return `Chorus never shares ${pattern === 'node_modules/' ? 'node_modules/' : 'files that usually hold secrets'}`;
}

/**
 * Which `.gitignore` keeps project path `rel` out (a trailing `/` for a folder), asked from
 * the project root down (as IgnoreRules always has): the first with a rule that matches, in words
 * ('src/.gitignore has the rule "*.log"'); undefined when none does. `rulesOf(dir)` gives the rules
 * of the `.gitignore` in folder `dir` ('' for the root), or nothing when there is none. Both the
 * daemon (IgnoreRules, from the folder) and the page (from the session) ask it.
 */
export function gitignoreWhy(rel: string, rulesOf: (dir: string) => Ignore | null | undefined): string | undefined {
  const parts = rel.replace(/\/$/, '').split('/');
  for (let i = 0; i < parts.length; i++) {
    const dir = parts.slice(0, i).join('/');
    const rule = rulesOf(dir)?.test(rel.slice(dir ? dir.length + 1 : 0)).rule;
    if (rule) return `${dir ? `${dir}/` : ''}.gitignore has the rule "${rule.pattern}"`;
  }
  return undefined;
}

/**
 * Why a file at project path `path` (`a/b.txt`) would be kept private by a member's default
 * rules: a built-in rule, or a rule of a `.gitignore` the session has in the path's folder or
 * above it (`gitignoreOf(dir)` gives that file's text, `dir` being '' for the root, or undefined
 * when the session has none there); undefined when nothing keeps it. In words, for the person:
 * 'Chorus never shares files that usually hold secrets: built-in rule "*.key"'.
 */
export function privateByDefault(path: string, gitignoreOf: (dir: string) => string | undefined): string | undefined {
  const hit = builtIn.test(path).rule;
  if (hit) return `${builtInWhy(hit.pattern)}: built-in rule "${hit.pattern}"`;
  return gitignoreWhy(path, (dir) => {
    const text = gitignoreOf(dir);
    return text === undefined ? undefined : ignore().add(text);
  });
}
