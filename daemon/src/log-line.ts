/**
 * One entry of a log a person reads (`.chorus/daemon.log`, the relay's stderr): a timestamp, then
 * the message on that same line. Messages carry names from outside (file names, peer names,
 * error texts quoting them), and a file may be called "x\n2026-01-01T00:00:00.000Z stopping":
 * written raw, that name would start what looks like an entry of its own. So every control
 * character in a message is escaped, and each entry is exactly one line.
 */

/**
 * Control characters (C0, DEL, C1), the Unicode line and paragraph separators, and the
 * bidirectional controls (marks, embeddings, overrides, isolates): a name holding U+202E showed
 * the rest of a `chorus status` line reversed ("Trojan Source", CVE-2021-42574).
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/** CONTROL without the global flag: `test` keeps no position between calls. */
const HAS_CONTROL = new RegExp(CONTROL.source);
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `message` with each control character written as an escape (`\n`, `\r`, `\t`, else `\uXXXX`): one line. */
export function escapeControls(message: string): string {
  return message.replace(CONTROL, (c) => NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Does `text` hold a character escapeControls would escape? */
export function hasControls(text: string): boolean {
  return HAS_CONTROL.test(text);
}

/** The log entry for `message` at time `at`: ISO timestamp, a space, the escaped message, a newline. */
export function logLine(message: string, at: Date = new Date()): string {
  return `${at.toISOString()} ${escapeControls(message)}\n`;
}

/**
 * A template for text the CLI prints: each value put in (a name, a path, a message from a peer or
 * the daemon) has its control characters escaped as in escapeControls, so none can move the
 * cursor, clear the screen or start a fake line; the template's own text, newlines included, is kept.
 */
export function shown(text: TemplateStringsArray, ...values: unknown[]): string {
  return text.reduce((out, part, i) => out + part + (i < values.length ? escapeControls(String(values[i])) : ''), '');
}
