/**
 * Watches the LSP framing (`Content-Length: n\r\n\r\n` + n bytes) of what an editor sends before
 * the JSON-RPC reader sees it (issue 10, Low): a frame larger than MAX_EDITOR_FRAME is never
 * buffered (a 2 GiB Content-Length would otherwise hold the connection forever), and a header
 * that is not exact LSP framing ends the connection with a message, as soon as its bytes show it
 * (a bare `\n\n` used to wait for the client's next message, decision 190), instead of leaving
 * the reader out of step for every later message. Bytes pass through unchanged.
 *
 * It is the reader's stream (vscode-jsonrpc's `RAL.ReadableStream`: data, end and close
 * listeners) over the socket's own events, not a Transform piped from the socket: each chunk goes
 * from the socket's `data` event to the reader in one call, where a pipe and a Transform cost two
 * stream buffers and their callbacks per keystroke (issue 13). Socket errors reach the connection
 * through its writer (FrameWriter), as before.
 */
import type { EventEmitter } from 'node:events';
import { EditorLimits } from '@chorus/protocol';
import { Disposable, type RAL } from 'vscode-jsonrpc/node';
import { tracePoint } from '../trace-points.js';

/**
 * Largest editor message: a whole live file (1 Mi characters, up to 6 bytes each as JSON escapes)
 * with room for the envelope. Declared with the protocol's other limits (protocol/src/limits.ts).
 */
export const MAX_EDITOR_FRAME = EditorLimits.frameBytes.value;
const MAX_HEADER = EditorLimits.headerBytes.value;

export class FrameGuard implements RAL.ReadableStream {
  #header = '';
  #body = 0;
  #failed = false;
  #listeners = new Set<(data: Uint8Array) => void>();
  /** The socket's `data` listener is attached (with the reader's first `onData`). */
  #reading = false;

  /**
   * Reads `source` (an editor's socket: `data` Buffers, then `end` and `close`). `onViolation`
   * gets the reason; nothing more reaches the reader after it.
   */
  constructor(
    private readonly source: EventEmitter,
    private readonly onViolation: (reason: string) => void,
  ) {}

  /** The socket starts flowing with the first listener, so nothing arrives before the reader listens. */
  onData(listener: (data: Uint8Array) => void): Disposable {
    if (!this.#reading) {
      this.#reading = true;
      this.source.on('data', (chunk: Buffer) => {
        tracePoint('editor-in');
        if (!this.#admit(chunk)) return;
        for (const l of this.#listeners) l(chunk);
      });
    }
    this.#listeners.add(listener);
    return Disposable.create(() => this.#listeners.delete(listener));
  }

  onEnd(listener: () => void): Disposable {
    return this.#forward('end', listener);
  }

  onClose(listener: () => void): Disposable {
    return this.#forward('close', listener);
  }

  /** The guard itself never fails as a stream: a violation goes to `onViolation`. */
  onError(): Disposable {
    return Disposable.create(() => undefined);
  }

  #forward(event: 'end' | 'close', listener: () => void): Disposable {
    const l = () => listener();
    this.source.on(event, l);
    return Disposable.create(() => this.source.off(event, l));
  }

  /** Follow the framing through `chunk`; false once it broke (then nothing passes any more). */
  #admit(chunk: Buffer): boolean {
    if (this.#failed) return false;
    let at = 0;
    while (at < chunk.length) {
      if (this.#body > 0) {
        const n = Math.min(this.#body, chunk.length - at);
        this.#body -= n;
        at += n;
        continue;
      }
      // The header may arrive across chunks, its end (\r\n\r\n) too: look for the end from the
      // last three characters already held. latin1 keeps one character per byte.
      // Only the header's bytes become a string: up to its end when this chunk has one (the
      // usual case, a whole message per chunk), else what the length limit allows.
      const held = this.#header.length;
      const endHere = chunk.indexOf('\r\n\r\n', at, 'latin1');
      const upTo = Math.min(endHere === -1 ? chunk.length : endHere + 4, at + MAX_HEADER + 4 - held);
      this.#header += chunk.subarray(at, upTo).toString('latin1');
      const end = this.#header.indexOf('\r\n\r\n', Math.max(0, held - 3));
      if (end === -1) {
        // A header that can no longer become LSP framing is refused now, not when 1 KiB has
        // arrived: a client ending it with a bare \n\n would otherwise wait for an answer that
        // only its next message could bring (h78).
        const wrong = headerProblem(this.#header, false);
        if (wrong) return this.#fail(wrong);
        // MAX_HEADER does not count the ending: up to three of its bytes may be held here.
        if (this.#header.length > MAX_HEADER + 3) return this.#fail('a message header longer than 1 KiB; the connection is closed (send Content-Length headers followed by one JSON-RPC object)');
        break;
      }
      const header = this.#header.slice(0, end + 4);
      this.#header = '';
      at += end + 4 - held;
      const length = contentLength(header);
      if (typeof length === 'string') return this.#fail(length);
      if (length > MAX_EDITOR_FRAME) return this.#fail(`a message of ${length} bytes is over the ${MAX_EDITOR_FRAME}-byte limit; the connection is closed`);
      this.#body = length;
    }
    return true;
  }

  #fail(reason: string): false {
    this.#failed = true;
    this.onViolation(reason);
    return false;
  }
}

/** What nearly every client sends: one field, Content-Length (one test on the keystroke path). */
const ONLY_LENGTH = /^content-length:[ \t]*(\d{1,16})[ \t]*\r\n\r\n$/i;

/** The body length a whole header (ending \r\n\r\n) gives, or why it gives none. */
function contentLength(header: string): number | string {
  const only = ONLY_LENGTH.exec(header);
  if (only) return Number(only[1]);
  const wrong = headerProblem(header, true);
  if (wrong) return wrong;
  const lengths = [...header.matchAll(/(?:^|\r\n)content-length:[ \t]*(\d{1,16})[ \t]*(?=\r\n)/gi)];
  if (lengths.length === 1) return Number(lengths[0]![1]);
  return `a message with ${lengths.length ? 'more than one' : 'no valid'} Content-Length header; the connection is closed (reconnect and send one Content-Length header followed by one JSON-RPC object)`;
}

/** A header field's name (RFC 9110 token characters), then its value up to the end of the line. */
const FIELD = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+:[^\\r\\n]*";
/** A whole header: one or more fields, each line ended by \r\n, then the empty line. */
const WHOLE_HEADER = new RegExp(`^(?:${FIELD}\\r\\n)+\\r\\n$`);
/** The start of a header not ended yet: whole lines, then part of a field or of the empty line. */
const HEADER_START = new RegExp(`^(?:${FIELD}\\r\\n)*(?:[!#$%&'*+\\-.^_\`|~0-9A-Za-z]*|${FIELD}\\r?|\\r)$`);

/**
 * Why `header` (latin1, one character per byte) is not LSP base framing, or undefined when it is
 * (or, with `whole` false, may still become it). Exact rather than lenient: the JSON-RPC reader
 * behind the guard splits headers on \r\n only, so anything else would leave it out of step.
 */
function headerProblem(header: string, whole: boolean): string | undefined {
  if ((whole ? WHOLE_HEADER : HEADER_START).test(header)) return undefined;
  const close = 'the connection is closed (reconnect and send `Content-Length: <bytes>\\r\\n\\r\\n` followed by one JSON-RPC object)';
  const bareLf = /(?:^|[^\r])\n/.test(header);
  if (bareLf) return `a message header with a line ended by \\n alone; end each header line with \\r\\n and the header with an empty line (\\r\\n\\r\\n); ${close}`;
  if (/\r(?!\n|$)/.test(header)) return `a message header with a \\r not followed by \\n; ${close}`;
  return `a message header that is not \`Name: value\` lines (it begins ${JSON.stringify(header.slice(0, 40))}); ${close}`;
}
