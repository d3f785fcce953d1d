/**
 * LSP base framing by hand, for bad-input tests: write any bytes as a frame (or with any
 * header), and read the answers one by one, whatever a JSON-RPC library would make of them.
 */
export interface RawFrames {
  /** Send `body` with a correct Content-Length header, or with `header` as given. */
  send(body: string, header?: string): void;
  /** The next message read, parsed. */
  next(): Promise<any>;
}

export function rawFrames(readable: NodeJS.ReadableStream, writable: NodeJS.WritableStream): RawFrames {
  let buf = Buffer.alloc(0);
  const waiting: Array<(m: any) => void> = [];
  const ready: any[] = [];
  readable.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const h = buf.indexOf('\r\n\r\n');
      if (h === -1) return;
      const len = Number(/Content-Length: (\d+)/i.exec(buf.subarray(0, h).toString())![1]);
      if (buf.length < h + 4 + len) return;
      const msg = JSON.parse(buf.subarray(h + 4, h + 4 + len).toString());
      buf = buf.subarray(h + 4 + len);
      const w = waiting.shift();
      if (w) w(msg);
      else ready.push(msg);
    }
  });
  return {
    send: (body, header) => void writable.write(`${header ?? `Content-Length: ${Buffer.byteLength(body)}`}\r\n\r\n${body}`),
    next: () => (ready.length ? Promise.resolve(ready.shift()) : new Promise((r) => waiting.push(r))),
  };
}
