/**
 * A hostile editor for tests: a raw connection to the daemon's editor socket that can send any
 * bytes (bad framing, huge Content-Length, deep JSON) as well as well-formed requests with
 * hostile params, and reads back every framed answer. Reusable by any test of the editor edge.
 */
import net from 'node:net';
import * as P from '@chorus/protocol';

export interface RpcAnswer {
  id: number | string | null;
  result?: unknown;
  error?: { code: number; message: string };
  method?: string;
  params?: unknown;
}

export class MaliciousEditor {
  readonly answers: RpcAnswer[] = [];
  private buf = Buffer.alloc(0);
  private nextId = 1;
  private waiters: Array<() => void> = [];
  /** Resolves when the daemon closes the connection. */
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
    });
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => undefined);
  }

  static async connect(socketPath: string): Promise<MaliciousEditor> {
    const socket = net.connect(socketPath);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new MaliciousEditor(socket);
  }

  private parse(): void {
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const m = /content-length:\s*(\d+)/i.exec(this.buf.subarray(0, end).toString('latin1'));
      if (!m) return;
      const len = Number(m[1]);
      if (this.buf.length < end + 4 + len) return;
      this.answers.push(JSON.parse(this.buf.subarray(end + 4, end + 4 + len).toString('utf8')) as RpcAnswer);
      this.buf = this.buf.subarray(end + 4 + len);
      for (const w of this.waiters.splice(0)) w();
    }
  }

  /** Send raw bytes as they are. */
  raw(bytes: string | Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Send one JSON text (any string) in correct framing. */
  frame(json: string): void {
    const body = Buffer.from(json, 'utf8');
    this.socket.write(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'latin1'), body]));
  }

  /** Wait for an answer matching `pred` (an answer to a request, or an id-less error). */
  async waitFor(pred: (a: RpcAnswer) => boolean, what: string, ms = 20_000): Promise<RpcAnswer> {
    const end = Date.now() + ms;
    for (;;) {
      const hit = this.answers.find(pred);
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.answers).slice(0, 500)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  /** Send a request with any params (not validated here) and return its answer. */
  async request(method: string, params?: unknown): Promise<RpcAnswer> {
    const id = this.nextId++;
    this.frame(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }));
    return this.waitFor((a) => a.id === id, `the answer to ${method}`);
  }

  async init(): Promise<void> {
    const a = await this.request(P.Initialize.method, { protocolVersion: P.PROTOCOL_VERSION, clientInfo: { name: 'mallory' } });
    if (a.error) throw new Error(`initialize failed: ${a.error.message}`);
  }

  close(): void {
    this.socket.destroy();
  }
}
