/** Telling text from binary content. Platform-neutral (decision 065). */

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The content as text when it is valid UTF-8 without NUL bytes (what Chorus edits live), else
 * null (a binary file, synced whole). A file that starts with a UTF-8 byte order mark is synced
 * whole too: editors read it without the mark (Neovim's 'bomb', Emacs's utf-8-with-signature,
 * VS Code's "UTF-8 with BOM"), so as live text the mark was either lost (the decoder dropped it,
 * and the first edit wrote the file back without it on every peer) or shown as a character.
 */
export function decodeText(bytes: Uint8Array): string | null {
  if (bytes.includes(0) || hasByteOrderMark(bytes)) return null;
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/** Does `bytes` start with the UTF-8 byte order mark (EF BB BF)? */
export function hasByteOrderMark(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Does `s` hold a lone UTF-16 surrogate (half of a pair)? Such a string is no Unicode text: it
 * cannot be written as UTF-8 (Node writes U+FFFD for it), so a file or name holding one comes back
 * from the disk as another (a trial: `lone\ud800.txt` became two files and a conflict copy).
 */
export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}
