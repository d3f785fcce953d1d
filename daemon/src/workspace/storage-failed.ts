/**
 * A store's refused write (disk full, quota, read-only) as one error type, apart from the store
 * contract (document-store.ts) so that what needs only this, such as the blob store and through
 * it the `chorus` command's own modules, does not load Automerge with it.
 *
 * Platform-neutral (decision 065): no Node built-in.
 */
/**
 * The platform refused a write (disk full, quota, read-only): nothing of that write was kept.
 * `code` is the platform's name for it (`ENOSPC`, `EDQUOT`, `QuotaExceededError`, …).
 */
export class StorageFailed extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A person's words for a refused write, from the platform's code for it. */
export function describeRefusal(code: string): string {
  const why =
    code === 'ENOSPC' ? 'the disk is full' : code === 'EDQUOT' ? 'over the disk quota' : code === 'QuotaExceededError' ? "over the browser's storage quota for this site" : code;
  return `the disk refused to save it (${why})`;
}

/** A platform's write error as StorageFailed (its `code`, or its `name` for a DOMException). */
export function asStorageFailed(e: unknown): StorageFailed {
  if (e instanceof StorageFailed) return e;
  const err = e as { code?: unknown; name?: unknown } | undefined;
  const code = typeof err?.code === 'string' ? err.code : typeof err?.name === 'string' && err.name !== 'Error' ? err.name : 'EIO';
  return new StorageFailed(code, describeRefusal(code));
}
