/**
 * A person's colour from their peer id: the same on every peer and platform (the daemon and the
 * browser page, issue 17), so everyone sees one person in one colour. Platform-neutral.
 */
import { sha256 } from '../digest.js';

const PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#9a6324', '#469990', '#800000', '#808000', '#000075'];

/** `#rrggbb` for a peer id. */
export function colorFor(id: string): string {
  const h = sha256(id);
  const n = ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
  return PALETTE[n % PALETTE.length]!;
}

/**
 * The colour a member wearing `own` should wear among members wearing `worn` (any case): `own`
 * when none of them wears it, else the first colour of the palette none of them wears (`own`
 * again when all twelve are worn). colorFor gives 2 of 5 people one colour 62 % of the time
 * (a trial: Bob and Vera both #469990), so a member joining a session takes one apart.
 */
export function colorApart(own: string, worn: Iterable<string>): string {
  const taken = new Set([...worn].map((c) => c.toLowerCase()));
  if (!taken.has(own.toLowerCase())) return own;
  return PALETTE.find((c) => !taken.has(c)) ?? own;
}

/** A colour as peers send it: `#rrggbb`. Presence and the overlay's peer data are both checked against it. */
export const HEX_COLOR = /^#[0-9a-fA-F]{6}$/;
