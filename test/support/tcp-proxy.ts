import { type Socket, createConnection, createServer } from "node:net";

/** A plain TCP forwarder (what a Docker port mapping or an SSH tunnel is), which a test can make stall. */
export interface TcpProxy {
  readonly port: number;
  /** From now on, bytes are no longer passed on in either direction; the sockets stay open (a hung proxy, a half-open link). */
  stall(): void;
  stop(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let stalled = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection({ host: target.host, port: target.port });
    sockets.add(client);
    sockets.add(upstream);
    const pass = (from: Socket, to: Socket) => {
      from.on("data", (chunk) => {
        if (!stalled) to.write(chunk);
      });
      from.on("close", () => {
        if (!stalled) to.destroy();
        sockets.delete(from);
      });
      from.on("error", () => {});
    };
    pass(client, upstream);
    pass(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    stall() {
      stalled = true;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
