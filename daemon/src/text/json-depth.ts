/**
 * How deeply JSON text nests, counted without parsing: one rule for every untrusted JSON the
 * daemon takes (an editor's message, editor/rpc-edge.ts; a peer's message header,
 * sync/peer-messages.ts), so a hostile depth is refused before it reaches anything recursive
 * (a validator, `JSON.stringify` when the value is passed on).
 */

/**
 * How deeply `text` (JSON) nests arrays and objects, counting without recursion, so a hostile
 * depth never reaches a recursive parser or validator.
 */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}
