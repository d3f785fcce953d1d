/**
 * Writes JSON-RPC messages to an editor's socket with LSP base framing, each message as ONE
 * socket write (header and body together). vscode-jsonrpc's own writer sends the header and the
 * body as two writes, one promise apart: two system calls and two wake-ups of the editor per
 * `buffer/didChange` and per answer, on the keystroke path (decision 033). Messages written in
 * the same tick (the answers to a burst of edits, committed together) leave in one system call:
 * the socket is corked on the first and uncorked once the tick's work is done.
 */
import type { Socket } from 'node:net';
import { AbstractMessageWriter, type Message, type MessageWriter } from 'vscode-jsonrpc/node';
import { tracePoint } from '../trace-points.js';

/**
 * Why a write to an editor that has gone fails. vscode-jsonrpc logs such a failure with its own
 * words around it ("Processing message queue failed: Error: …"); the connection's logger finds
 * this text and says what happened instead (connection.ts).
 */
export const EDITOR_GONE = 'the editor connection is closed';

export class FrameWriter extends AbstractMessageWriter implements MessageWriter {
  private corked = false;
  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  constructor(private readonly socket: Socket) {
    super();
    socket.on('error', (e) => this.fireError(e));
    socket.on('close', () => this.fireClose());
  }

  write(msg: Message): Promise<void> {
    const body = Buffer.from(JSON.stringify(msg), 'utf8');
    const frame = Buffer.allocUnsafe(body.length + 40);
    const head = frame.write(`Content-Length: ${body.length}\r\n\r\n`, 'ascii');
    body.copy(frame, head);
    if (this.socket.destroyed || !this.socket.writable) return Promise.reject(new Error(EDITOR_GONE));
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    tracePoint('editor-out');
    this.socket.write(frame.subarray(0, head + body.length));
    return Promise.resolve();
  }

  end(): void {
    this.socket.end();
  }
}
