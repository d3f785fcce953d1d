/** Helpers for overlay tests: start overlays on loopback, record their events, wait for states. */
import { randomBytes } from 'node:crypto';
import { Overlay, type OverlayOptions } from '../../daemon/src/net/overlay.js';
import { nodeTransports } from '../../daemon/src/net/node-transports.js';

export interface Node {
  id: string;
  overlay: Overlay;
  addrs: string[];
  logs: string[];
  events: string[];
  /** Messages received, per sender, as utf8 strings. */
  received: Map<string, string[]>;
  refusals: string[];
}

export const newSecret = (): Uint8Array => new Uint8Array(randomBytes(32));

export class Cluster {
  readonly nodes: Node[] = [];
  constructor(
    readonly secret: Uint8Array = newSecret(),
    readonly sessionId = 'session-test',
  ) {}

  async start(id: string, opts: Partial<OverlayOptions> = {}): Promise<Node> {
    const logs: string[] = [];
    const overlay = new Overlay({
      selfId: id,
      selfMeta: { name: `name-of-${id}` },
      secret: this.secret,
      sessionId: this.sessionId,
      listen: { host: '127.0.0.1', port: 0 },
      seeds: [],
      webrtc: false,
      log: (m) => logs.push(m),
      timing: { pingIntervalMs: 300 },
      transports: nodeTransports(),
      ...opts,
    });
    const node: Node = { id, overlay, addrs: [], logs, events: [], received: new Map(), refusals: [] };
    overlay.on('peer-up', (peer) => node.events.push(`up:${peer}`));
    overlay.on('peer-down', (peer, reason) => node.events.push(`down:${peer}:${reason}`));
    overlay.on('refused', (_where, reason) => node.refusals.push(reason));
    overlay.on('message', (peer, data) => {
      const list = node.received.get(peer) ?? [];
      list.push(Buffer.from(data).toString('utf8'));
      node.received.set(peer, list);
    });
    node.addrs = (await overlay.start()).addrs;
    this.nodes.push(node);
    return node;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.nodes.splice(0).map((n) => n.overlay.stop()));
  }
}

/** Poll until `cond` holds; fail with `what` (and the nodes' logs) after `timeoutMs`. */
export async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000, nodes: Node[] = []): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) {
      const logs = nodes.map((n) => `--- ${n.id}\n${n.logs.slice(-30).join('\n')}`).join('\n');
      throw new Error(`timed out waiting for: ${what}\n${logs}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function connectedTo(node: Node): string[] {
  return node.overlay
    .peers()
    .filter((p) => p.state === 'connected')
    .map((p) => p.id)
    .sort();
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
