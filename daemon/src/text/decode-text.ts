/** Telling text from binary content. Platform-neutral (decision 065). */

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The content as text when it is valid UTF-8 without NUL bytes (what Chorus edits live), else
 * null (a binary file, synced whole).
 */
export function decodeText(bytes: Uint8Array): string | null {
  if (bytes.includes(0)) return null;
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}
