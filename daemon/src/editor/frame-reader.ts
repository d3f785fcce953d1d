/**
 * Reads JSON-RPC messages from an editor's socket: LSP base framing (`Content-Length: n\r\n\r\n`
 * + n bytes), checked as it arrives (issue 10, Low), each whole message decoded and handed to the
 * connection in the same call as the socket's `data` event.
 *
 * - A frame larger than MAX_EDITOR_FRAME is never buffered (a 2 GiB Content-Length would
 *   otherwise hold the connection forever), and a header that is not LSP framing ends the
 *   connection with a message (`onViolation`) instead of leaving the reader out of step for every
 *   later message. Nothing is read after a violation.
 * - A body that is not a JSON-RPC message (`decode` throws) is an error event, which the
 *   connection answers (rpc-edge.ts `answerBadFrame`); the framing is intact, so the next message
 *   is read.
 *
 * Why not vscode-jsonrpc's ReadableStreamMessageReader, as before: it parses the framing again
 * (this reader has to, to guard it), and hands each message on through a semaphore and two
 * awaited decoders, a chain of promises per keystroke; with the socket's events, a pipe and a
 * Transform before it, the editor's message cost ~14 % of a typing daemon's CPU (issue 13).
 * The connection (dispatch, answers) is still vscode-jsonrpc's, as the writer is (FrameWriter).
 */
import type { EventEmitter } from 'node:events';
import { AbstractMessageReader, Disposable, type DataCallback, type Message, type MessageReader } from 'vscode-jsonrpc/node';

/**
 * Largest editor message: a whole live file (1 Mi characters, up to 6 bytes each as JSON escapes)
 * with room for the envelope.
 */
export const MAX_EDITOR_FRAME = 8 * 1024 * 1024;
const MAX_HEADER = 1024;

export class FrameReader extends AbstractMessageReader implements MessageReader {
  #header = '';
  /** Bytes of the current body still to come; 0 between messages. */
  #need = 0;
  #parts: Buffer[] = [];
  #failed = false;

  /**
   * Reads `source` (an editor's socket: `data` Buffers, then `end` and `close`). `decode` turns
   * one body into a message or throws (a BadFrame the connection answers); `onViolation` gets the
   * reason the framing broke.
   */
  constructor(
    private readonly source: EventEmitter,
    private readonly decode: (body: Uint8Array) => Message,
    private readonly onViolation: (reason: string) => void,
  ) {
    super();
  }

  /** The socket starts flowing here, so nothing arrives before the connection listens. */
  listen(callback: DataCallback): Disposable {
    const data = (chunk: Buffer) => this.#read(chunk, callback);
    const closed = () => this.fireClose();
    this.source.on('data', data);
    this.source.on('close', closed);
    return Disposable.create(() => {
      this.source.off('data', data);
      this.source.off('close', closed);
    });
  }

  /** Follow the framing through `chunk`, handing on each message it completes. */
  #read(chunk: Buffer, callback: DataCallback): void {
    let at = 0;
    while (at < chunk.length && !this.#failed) {
      if (this.#need > 0) {
        const n = Math.min(this.#need, chunk.length - at);
        this.#parts.push(chunk.subarray(at, at + n));
        this.#need -= n;
        at += n;
        if (this.#need === 0) this.#deliver(callback);
        continue;
      }
      // The header may arrive across chunks, its end (\r\n\r\n) too: look for the end from the
      // last three characters already held. latin1 keeps one character per byte.
      const held = this.#header.length;
      const upTo = Math.min(chunk.length, at + MAX_HEADER + 4 - held);
      this.#header += chunk.subarray(at, upTo).toString('latin1');
      const end = this.#header.indexOf('\r\n\r\n', Math.max(0, held - 3));
      if (end === -1) {
        if (this.#header.length > MAX_HEADER) this.#fail('a message header longer than 1 KiB (send Content-Length headers followed by one JSON-RPC object)');
        return;
      }
      const header = this.#header.slice(0, end + 4);
      this.#header = '';
      at += end + 4 - held;
      const m = /(?:^|\r\n)content-length:[ \t]*(\d{1,16})[ \t]*(?:\r\n|$)/i.exec(header.slice(0, -4));
      if (!m) return this.#fail('a message without a valid Content-Length header; the connection is closed (reconnect and send Content-Length headers followed by one JSON-RPC object)');
      const length = Number(m[1]);
      if (length > MAX_EDITOR_FRAME) return this.#fail(`a message of ${length} bytes is over the ${MAX_EDITOR_FRAME}-byte limit; the connection is closed`);
      this.#need = length;
      // An empty body is complete already (and not JSON: the decoder says so).
      if (length === 0) this.#deliver(callback);
    }
  }

  #deliver(callback: DataCallback): void {
    const parts = this.#parts;
    this.#parts = [];
    const body = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    let message: Message;
    try {
      message = this.decode(body);
    } catch (e) {
      this.fireError(e);
      return;
    }
    try {
      callback(message);
    } catch (e) {
      this.fireError(e);
    }
  }

  #fail(reason: string): void {
    this.#failed = true;
    this.#parts = [];
    this.onViolation(reason);
  }
}
