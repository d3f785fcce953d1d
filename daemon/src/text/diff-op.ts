/** The op that turns one text into another, from a character diff (fast-diff, Myers' algorithm). */
import diff from 'fast-diff';
import { type as otText } from 'ot-text';
import type { TextOp } from './text-op.js';

export function diffToOp(from: string, to: string): TextOp {
  if (from === to) return [];
  const op: TextOp = [];
  for (const [kind, text] of diff(from, to)) {
    if (kind === diff.EQUAL) op.push(text.length);
    else if (kind === diff.INSERT) op.push(text);
    else op.push({ d: text.length });
  }
  return otText.normalize(op);
}
