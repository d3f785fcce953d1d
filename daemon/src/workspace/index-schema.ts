/**
 * The shape every entry of the shared file index must have (issue 10, item 4): a zod schema, as
 * the editor protocol has, so one bad field from a peer (`hash: ""`) refuses the whole change
 * instead of being applied and wedging every later write, join and resync. It accepts exactly the
 * optional additions other work brings: `exec` on a file (the executable bit), `aside` on a
 * conflict copy (decision 220) and a `dirs` map of empty folders.
 *
 * zod's "mini" build: the same checks, but only what is used gets bundled (the browser page,
 * issue 17, carries this module; the full build would be most of the page's script).
 */
import * as z from 'zod/mini';
import { isProjectPath } from './path-rules.js';

/** Largest file the index may describe (a peer message carries at most 64 MiB). */
export const MAX_ENTRY_SIZE = 64 * 1024 * 1024;

/** Messages for what the checks below do not word themselves (mini carries no locale). */
const entryError = { error: (iss: { code?: string; keys?: string[] }) => (iss.code === 'unrecognized_keys' ? `unknown field ${JSON.stringify(iss.keys ?? []).slice(0, 60)}` : 'not an object') };

const ProjectPath = z.string({ error: 'not a string' }).check(z.refine((p) => isProjectPath(p), { message: 'not a project path (absolute, with .. or empty parts, too long, or inside a VCS folder or .chorus/)' }));

export const FileEntrySchema = z.strictObject({
  path: ProjectPath,
  hash: z.string({ error: 'not a string' }).check(z.regex(/^[0-9a-f]{64}$/, 'not a sha256 hash')),
  size: z.int({ error: 'not a whole number' }).check(z.minimum(0, 'negative size'), z.maximum(MAX_ENTRY_SIZE, `larger than ${MAX_ENTRY_SIZE} bytes`)),
  opaque: z.optional(z.boolean({ error: 'not true or false' })),
  exec: z.optional(z.boolean({ error: 'not true or false' })),
  aside: z.optional(z.string({ error: 'not a string' }).check(z.regex(/^f[0-9a-f]{24}$/, 'not a file id'))),
}, entryError);

export const DirEntrySchema = z.strictObject({ path: ProjectPath }, entryError);

export const FILE_ID = /^f[0-9a-f]{24}$/;
/** Most file and folder entries one index change may write (local batches stay well below). */
export const MAX_INDEX_ENTRIES_PER_CHANGE = 10_000;
const DIR_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Why an index entry (a file's, or with `dirs` an empty folder's) is invalid, or undefined. */
export function entryProblem(map: 'files' | 'dirs', id: string, value: unknown): string | undefined {
  if (map === 'files' ? !FILE_ID.test(id) : !DIR_ID.test(id)) return `${map} id ${JSON.stringify(id).slice(0, 40)} is malformed`;
  const r = (map === 'files' ? FileEntrySchema : DirEntrySchema).safeParse(value);
  if (r.success) return undefined;
  const issue = r.error.issues[0];
  return `${map}[${id}]${issue?.path.length ? '.' + issue.path.join('.') : ''}: ${issue?.message ?? 'invalid'}`;
}

/** Why the top level of an index document is invalid (only `files` and `dirs` maps), or undefined. */
export function rootProblem(doc: Record<string, unknown>): string | undefined {
  for (const [k, v] of Object.entries(doc)) {
    if (k !== 'files' && k !== 'dirs') return `unknown top-level field ${JSON.stringify(k).slice(0, 40)}`;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return `${k} is not a map`;
  }
  return undefined;
}
