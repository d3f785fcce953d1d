import { z } from 'zod';

export { PROTOCOL_VERSION } from './protocol-version.js';

/** How `character` in a {@link Position} is counted; negotiated at `initialize` (as in LSP 3.17). */
export const PositionEncoding = z.enum(['utf-8', 'utf-16', 'utf-32']);
export type PositionEncoding = z.infer<typeof PositionEncoding>;

const uint = z.number().int().nonnegative();

/**
 * A place in a text buffer. `line` is zero-based, counting `\n` only. `character` is zero-based and
 * counted in the negotiated position encoding (bytes, UTF-16 code units or code points); a `\r`
 * is a character like any other (the last one of a line that ends `\r\n`).
 */
export const Position = z.object({
  /** Zero-based line number. */
  line: uint,
  /** Zero-based offset within the line, in the negotiated encoding's units. */
  character: uint,
});
export type Position = z.infer<typeof Position>;

/**
 * A relay's address, as `chorus relay` prints it: `ws://host:port` or `wss://host:port` (a path
 * may follow). The one check of it: the CLI's `--relay`, `session/share` and join codes use it.
 */
export const RelayUrl = z
  .string()
  .max(300)
  .regex(/^wss?:\/\/[^\s/?#@]+(?:[/?#][^\s]*)?$/, 'a relay address is ws://host:port or wss://host:port, as `chorus relay` prints it');

/** A span between two positions; `end` is exclusive and must not be before `start`. */
export const Range = z.object({ start: Position, end: Position });
export type Range = z.infer<typeof Range>;

/**
 * Replace `range` with `text`. In a list of changes, each applies to the result of the ones
 * before it (like LSP's `TextDocumentContentChangeEvent`s), not to the original text.
 */
export const TextChange = z.object({ range: Range, text: z.string() });
export type TextChange = z.infer<typeof TextChange>;

/**
 * A path to a file of the project. Editors may send absolute paths or paths relative to the
 * project root; the daemon always sends paths relative to the root, with `/` separators.
 */
export const ProjectPath = z.string().min(1, 'path must not be empty');

/** Someone in the session: one daemon (a person), with the name and colour editors show. */
export const PeerInfo = z.object({
  /** Stable id of the peer (its daemon) for this session. */
  id: z.string(),
  /** The person's display name. */
  name: z.string(),
  /** The person's colour, as `#rrggbb`. */
  color: z.string(),
});
export type PeerInfo = z.infer<typeof PeerInfo>;

/** A selection: `anchor` is where it started, `head` where the cursor is. Equal for a caret. */
export const Selection = z.object({ anchor: Position, head: Position });
export type Selection = z.infer<typeof Selection>;
