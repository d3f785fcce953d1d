/**
 * A stranger flooding a peer port (decision 165), as in the user trial that found it: a separate
 * Node process keeps `count` WebSocket connections open, each reopened 50 ms (or `reopenMs`)
 * after it closes, and holding no join code. Each connection either says nothing (`bare`) or sends a well-formed
 * handshake hello with a made-up id and nonce and then nothing (`hello`: what a stranger can do
 * without the code), or, against a relay, joins a made-up room (`join`: the relay asks no code).
 * Connections go out from the given local addresses in turn (on Linux all of
 * 127.0.0.0/8 is loopback), so one process can stand for many sources.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { NET_VERSION } from '../../daemon/src/net/secure.js';

export interface FloodOptions {
  count: number;
  /** `join`: a relay join (decision 194) into a made-up room under a made-up peer id. */
  mode: 'bare' | 'hello' | 'join';
  /** Local addresses to connect from, in turn (default: the system's choice). */
  from?: string[];
  /** Wait before reopening a closed connection, ms (the trial's script: 50). */
  reopenMs?: number;
  /**
   * Open the first `first` connections `everyMs` apart, and the rest together after them (the
   * trial's script opens all at once): the listener's handshake timeouts then free the slots the
   * first ones took one at a time, each raced by the rest, never all in the same instant.
   */
  stagger?: { first: number; everyMs: number };
}

const SCRIPT = `
const WebSocket = require(process.env.FLOOD_WS);
const crypto = require('node:crypto');
const [url, n, mode, reopenMs, first, everyMs, from] = process.argv.slice(1);
const sources = from ? from.split(',') : [undefined];
let opened = 0, next = 0;
function one() {
  const localAddress = sources[next++ % sources.length];
  const ws = new WebSocket(url, { perMessageDeflate: false, ...(localAddress ? { localAddress } : {}) });
  ws.on('error', () => {});
  ws.on('open', () => {
    opened++;
    if (mode === 'hello') {
      const hello = JSON.stringify({ p: 'chorus-net', v: ${NET_VERSION}, id: crypto.randomBytes(8).toString('hex'), n: crypto.randomBytes(32).toString('base64') });
      ws.send(Buffer.concat([Buffer.from([1]), Buffer.from(hello)]));
    } else if (mode === 'join') {
      const join = JSON.stringify({ room: crypto.randomBytes(32).toString('hex'), peer: crypto.randomBytes(8).toString('hex') });
      ws.send(Buffer.concat([Buffer.from([0x10]), Buffer.from(join)]));
    }
  });
  ws.on('close', () => setTimeout(one, +reopenMs));
}
for (let i = 0; i < +n; i++) setTimeout(one, Math.min(i, +first) * +everyMs);
setInterval(() => process.stdout.write(opened + '\\n'), 200);
`;

export class ConnectionFlood {
  /** Connections opened so far (reported by the child every 200 ms). */
  opened = 0;
  readonly #child: ChildProcess;

  constructor(url: string, opts: FloodOptions) {
    const ws = createRequire(import.meta.url).resolve('ws');
    const args = ['-e', SCRIPT, url, String(opts.count), opts.mode, String(opts.reopenMs ?? 50), String(opts.stagger?.first ?? 0), String(opts.stagger?.everyMs ?? 0), ...(opts.from ? [opts.from.join(',')] : [])];
    this.#child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FLOOD_WS: ws } });
    this.#child.stdout!.setEncoding('utf8');
    this.#child.stdout!.on('data', (chunk: string) => {
      const last = chunk.trim().split('\n').pop();
      if (last) this.opened = Number(last);
    });
  }

  /** Stop the flood's process (this one only, by its pid) and wait for it to exit. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}
