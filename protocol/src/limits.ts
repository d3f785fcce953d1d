/**
 * The limits of the editor protocol that its schemas cannot state (framing, sizes measured by
 * the daemon), each with what happens past it, so the spec's one table of limits is generated
 * (protocol/methods.md "Limits") instead of found in error texts. Limits a schema states
 * (`.max(100000)` on `buffer/edit` `changes`, …) are read from the schemas by the generator,
 * their one home. The daemon's constants for the limits below are tested equal to these
 * (test/protocol/limits.test.ts); the framing guard reads its two from here.
 */
import type { ErrorCodes } from './errors.js';

/** One limit: its value, its unit, what it bounds, and what the daemon does past it. */
export interface Limit {
  /** The largest value allowed (inclusive), in `unit`. */
  readonly value: number;
  /** What `value` counts: `bytes`, `characters` (UTF-16 code units, as JavaScript counts), `levels`, `steps`. */
  readonly unit: string;
  /** What is bounded, in the spec's words. */
  readonly bounds: string;
  /** What the daemon does with a message past the limit. */
  readonly past: string;
  /** The error code of the answer, or null when nothing is answered. */
  readonly error: keyof typeof ErrorCodes | null;
}

/** Every limit of the editor protocol that no schema states; see the module header. */
export const EditorLimits = {
  /** The body of one message (its Content-Length). */
  frameBytes: {
    value: 8 * 1024 * 1024,
    unit: 'bytes',
    bounds: 'one message body (`Content-Length`)',
    past: 'answered with id null, then the connection is closed; nothing of the message is read',
    error: 'InvalidRequest',
  },
  /** The header of one message, up to and including its empty line. */
  headerBytes: {
    value: 1024,
    unit: 'bytes',
    bounds: 'one message header, not counting its ending `\\r\\n\\r\\n`',
    past: 'answered with id null, then the connection is closed',
    error: 'InvalidRequest',
  },
  /** Nesting of arrays and objects in one message. */
  jsonDepth: {
    value: 64,
    unit: 'levels',
    bounds: 'nesting of arrays and objects in one message',
    past: 'answered (with the id when it could be read); nothing changed; the connection stays',
    error: 'InvalidParams',
  },
  /** A buffer's text: larger files are synced as whole files, never edited live. */
  liveCharacters: {
    value: 1024 * 1024,
    unit: 'characters',
    bounds: "a buffer's text: `buffer/open` `content`, `base` and each `pending` text, and the text a `buffer/edit` would make",
    past: 'answered; nothing changed (an edit over it: re-open the buffer to drop it). Opening a file already over it answers FileNotEditable (-31993). Such a file is still shared, as a whole file',
    error: 'TooLarge',
  },
  /** One `data/set` value, as JSON. */
  dataValueBytes: {
    value: 64 * 1024,
    unit: 'bytes',
    bounds: '`data/set` `value`, as JSON (UTF-8)',
    past: 'answered; nothing stored',
    error: 'TooLarge',
  },
  /** One `message/broadcast` payload, as JSON. */
  broadcastBytes: {
    value: 64 * 1024,
    unit: 'bytes',
    bounds: '`message/broadcast` `payload`, as JSON (UTF-8)',
    past: 'answered; nothing sent',
    error: 'TooLarge',
  },
  /** A person's name (`session/share`, `session/join` `name`). */
  nameCharacters: {
    value: 200,
    unit: 'characters',
    bounds: '`name` of `session/share` and `session/join` (also: not empty, no control or bidirectional characters)',
    past: 'answered; nothing changed',
    error: 'InvalidParams',
  },
  /** A file's absolute path, as the file system counts it (Linux PATH_MAX less the NUL). */
  pathBytes: {
    value: 4095,
    unit: 'bytes',
    bounds: "a file's absolute path (the project root included), UTF-8",
    past: 'answered; nothing changed',
    error: 'PathOutsideProject',
  },
  /** One file or folder name of a path (NAME_MAX). */
  nameBytes: {
    value: 255,
    unit: 'bytes',
    bounds: 'one file or folder name in a path, UTF-8',
    past: 'answered; nothing changed',
    error: 'PathOutsideProject',
  },
  /** Undo steps kept per editor and buffer. */
  undoSteps: {
    value: 200,
    unit: 'steps',
    bounds: '`buffer/undo` steps kept per editor and buffer',
    past: 'the oldest step is forgotten (no error)',
    error: null,
  },
} as const satisfies Record<string, Limit>;
