/**
 * Text from outside (a file name, a peer's name, a notice naming a path) as a person is shown it:
 * each Unicode bidirectional control (marks, embeddings, overrides, isolates) made visible as
 * `<U+202E>`, so the text cannot display as another (`invoice<U+202E>fdp.exe` read as
 * `invoiceexe.pdf`, "Trojan Source"). Used by the VS Code extension and the browser page; the
 * daemon escapes the same set in what it prints (daemon/src/log-line.ts), Emacs as `\u202e`.
 */
export function visibleBidi(text: string): string {
  return text.replace(/[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g, (c) => `<U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}>`);
}
