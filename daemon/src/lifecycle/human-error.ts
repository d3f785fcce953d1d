/**
 * Every error that reaches a person through the CLI, in words: a system error (`EEXIST: file
 * already exists, mkdir …`) becomes what happened to which path and what to do; a CliError
 * carries its own wording and exit code.
 */

/** A failure the CLI reports as it is, exiting with `exitCode` (see the exit codes in commands.ts). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

const SYSTEM: Record<string, (where: string) => string> = {
  EEXIST: (p) => `${p} already exists and is in the way`,
  ENOTDIR: (p) => `${p} is (or is inside) a file where a folder is needed`,
  EISDIR: (p) => `${p} is a folder where a file is needed`,
  ENOENT: (p) => `${p} does not exist`,
  EACCES: (p) => `permission denied for ${p}`,
  EPERM: (p) => `not permitted to change ${p}`,
  ENOSPC: (p) => `the disk holding ${p} is full`,
  EROFS: (p) => `${p} is on a read-only file system`,
  ENAMETOOLONG: (p) => `the path ${p} is too long`,
  ELOOP: (p) => `${p} is a loop of symbolic links`,
  EMFILE: () => 'too many open files; raise the limit (ulimit -n) and try again',
  // Sockets: the daemon (or a peer) went away mid-conversation; no path involved.
  ECONNRESET: () => 'the connection was cut (the other side stopped or crashed)',
  EPIPE: () => 'the connection was cut (the other side stopped or crashed)',
  ECONNREFUSED: (p) => `nothing is listening at ${p} (it stopped or never started)`,
};

/** The message for `e` as a person should read it (no errno codes, no stack). */
export function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const err = e as NodeJS.ErrnoException;
  // Listening (`chorus relay`, a daemon's socket): the error names an address and port, not a path.
  const at = err as { address?: string; port?: number };
  if (err.code === 'EADDRINUSE') return `port ${at.port ?? '?'} is already in use${at.address ? ` on ${at.address}` : ''}; choose another with --port`;
  if (err.code === 'EADDRNOTAVAIL') return `${at.address ?? 'that address'} is not an address of this machine; check --host`;
  const words = err.code ? SYSTEM[err.code] : undefined;
  if (words) return words(err.path ?? (err as { dest?: string }).dest ?? (at.address ? `${at.address}${at.port ? `:${at.port}` : ''}` : 'a file'));
  if (err.code && /^E[A-Z]+$/.test(err.code)) {
    // A system error we have no words for: still say it was the system, not Chorus, and where.
    return `the system refused an operation${err.path ? ` on ${err.path}` : ''} (${err.code}); please report this if the cause is unclear`;
  }
  return err.message;
}
