/**
 * Whole-folder comparison for end-state assertions: every shared file of a project folder with
 * its content and permission bits, compared between peers file by file. `.chorus/` and VCS
 * metadata are left out (they are never shared); pass `all` to see them too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { reservedIn } from '../../daemon/src/workspace/path-rules.js';

export interface FileState {
  /** UTF-8 text, or `base64:` + the bytes when the file is not valid UTF-8. */
  content: string;
  /** Permission bits as an octal string, e.g. "755". */
  mode: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Every file of a folder (not `.chorus/`, not VCS metadata unless `all`), path → content and mode. */
export function folderState(dir: string, opts: { all?: boolean } = {}): Record<string, FileState> {
  const out: Record<string, FileState> = {};
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (!opts.all && reservedIn(r)) continue;
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) {
        const abs = path.join(dir, r);
        const bytes = fs.readFileSync(abs);
        let content: string;
        try {
          content = utf8.decode(bytes);
        } catch {
          content = 'base64:' + bytes.toString('base64');
        }
        out[r] = { content, mode: (fs.statSync(abs).mode & 0o777).toString(8) };
      }
    }
  };
  walk('');
  return Object.fromEntries(Object.entries(out).sort(([x], [y]) => (x < y ? -1 : 1)));
}

/** Paths on which two folder states differ (content or mode), with both sides; empty when equal. */
export function folderDiff(a: Record<string, FileState>, b: Record<string, FileState>): string[] {
  const out: string[] = [];
  for (const p of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[p];
    const y = b[p];
    if (x?.content !== y?.content || x?.mode !== y?.mode) out.push(`${p}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
  }
  return out.sort();
}

/**
 * Wait until every folder holds the same files with the same modes (and `pred` holds for that
 * state, when given), and return the state; on timeout the error lists every difference.
 */
export async function sameFolders(dirs: string[], what: string, pred: (s: Record<string, FileState>) => boolean = () => true, ms = 30000): Promise<Record<string, FileState>> {
  const end = Date.now() + ms;
  let diff: string[] = [];
  let first: Record<string, FileState> = {};
  for (;;) {
    const states = dirs.map((d) => folderState(d));
    first = states[0]!;
    diff = states.slice(1).flatMap((s) => folderDiff(first, s));
    if (!diff.length && pred(first)) return first;
    if (Date.now() > end) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}: ${diff.length ? diff.join('; ').slice(0, 2000) : `the state did not match: ${JSON.stringify(first).slice(0, 2000)}`}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Log lines that report a failure nobody was told of: an internal error, a stack trace, a failed
 * background task. A test of a scenario expects none. A WebRTC upgrade that did not connect is
 * not one: the link stays on WebSocket by design ("…; staying on websocket"), and whether ICE
 * succeeds on a loaded CI machine is not what these scenarios test.
 */
export function unreportedErrors(lines: string[]): string[] {
  return lines.filter((l) => /internal error|\n\s+at |failed:|TypeError|RangeError|ReferenceError|Cannot splice/.test(l) && !/^\S+ net: webrtc to \S+ failed: .*; staying on \S+\s*$/.test(l));
}
