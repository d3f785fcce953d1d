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
