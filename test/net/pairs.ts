/** Factories of connected Link pairs over real transports, shared by the transport tests. */
import type { Link } from '../../daemon/src/net/link.js';
import { dialWebSocket, listenWebSocket, type WebSocketListener } from '../../daemon/src/net/websocket.js';

/** A loopback websocket listener that hands out (dialer, accepted) pairs. */
export class WebSocketPairs {
  #listener: WebSocketListener | undefined;
  #accepted: Link[] = [];
  #waiting: Array<(link: Link) => void> = [];

  async start(): Promise<void> {
    this.#listener = await listenWebSocket({
      host: '127.0.0.1',
      port: 0,
      onLink: (link) => {
        const w = this.#waiting.shift();
        if (w) w(link);
        else this.#accepted.push(link);
      },
    });
  }

  /**
   * A connected pair. Links start limited to handshake-sized frames (issue 10, item 9); `raw`
   * keeps that limit, otherwise both ends are lifted as the secure layer does once authenticated.
   */
  pair = async (opts: { raw?: boolean } = {}): Promise<[Link, Link]> => {
    const inbound = new Promise<Link>((resolve) => {
      const early = this.#accepted.shift();
      if (early) resolve(early);
      else this.#waiting.push(resolve);
    });
    const dialer = await dialWebSocket(this.#listener!.addrs[0]!);
    const accepted = await inbound;
    if (!opts.raw) for (const l of [dialer, accepted]) l.raiseFrameLimit?.();
    return [dialer, accepted];
  };

  async stop(): Promise<void> {
    await this.#listener?.close();
  }
}
