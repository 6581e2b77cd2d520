import type { Socket, TCPSocketListener } from 'bun';

/**
 * A loopback TCP forwarder to put between the server and a dependency (PostgreSQL) and break on
 * purpose, without touching the dependency itself (the machine's PostgreSQL is shared):
 * - freeze(): connections are accepted and bytes are held, not forwarded, either way — what a
 *   SIGSTOP'd server looks like from outside (the kernel still accepts, nothing answers);
 * - cut(): every connection is closed and new ones are closed as soon as they open — a stopped server;
 * - restore(): forwarding again, with whatever a freeze held delivered in order.
 */
export interface TcpProxy {
  port: number;
  /** Connections open now. */
  readonly connections: number;
  freeze(): void;
  cut(): void;
  restore(): void;
  stop(): void;
}

type Mode = 'open' | 'frozen' | 'cut';

interface Pipe {
  client: Socket<Pipe>;
  server?: Socket<Pipe>;
  toServer: Uint8Array[];
  toClient: Uint8Array[];
  closed: boolean;
}

/** Writes queued chunks until the socket takes no more; the rest waits for its drain. */
function pump(socket: Socket<Pipe> | undefined, queue: Uint8Array[]): void {
  if (!socket) return;
  while (queue.length > 0) {
    const chunk = queue[0];
    const written = socket.write(chunk);
    if (written < chunk.byteLength) {
      queue[0] = chunk.subarray(Math.max(written, 0));
      return;
    }
    queue.shift();
  }
}

export function startTcpProxy(target: { hostname: string; port: number }): TcpProxy {
  let mode: Mode = 'open';
  const pipes = new Set<Pipe>();

  const flush = (p: Pipe) => {
    if (mode !== 'open' || p.closed) return;
    pump(p.server, p.toServer);
    pump(p.client, p.toClient);
  };
  const close = (p: Pipe) => {
    if (p.closed) return;
    p.closed = true;
    pipes.delete(p);
    p.client.terminate();
    p.server?.terminate();
  };

  const listener: TCPSocketListener<Pipe> = Bun.listen<Pipe>({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      open(client) {
        if (mode === 'cut') {
          client.terminate();
          return;
        }
        const p: Pipe = { client, toServer: [], toClient: [], closed: false };
        client.data = p;
        pipes.add(p);
        Bun.connect<Pipe>({
          hostname: target.hostname,
          port: target.port,
          data: p,
          socket: {
            open(server) {
              if (p.closed) return void server.terminate();
              p.server = server;
              flush(p);
            },
            data(_server, bytes) {
              p.toClient.push(new Uint8Array(bytes));
              flush(p);
            },
            drain: () => flush(p),
            close: () => close(p),
            error: () => close(p),
          },
        }).catch(() => close(p));
      },
      data(client, bytes) {
        client.data.toServer.push(new Uint8Array(bytes));
        flush(client.data);
      },
      drain: (client) => flush(client.data),
      close: (client) => client.data && close(client.data),
      error: (client) => client.data && close(client.data),
    },
  });

  return {
    port: listener.port,
    get connections() {
      return pipes.size;
    },
    freeze() {
      mode = 'frozen';
    },
    cut() {
      mode = 'cut';
      for (const p of [...pipes]) close(p);
    },
    restore() {
      mode = 'open';
      for (const p of pipes) flush(p);
    },
    stop() {
      mode = 'cut';
      for (const p of [...pipes]) close(p);
      listener.stop(true);
    },
  };
}
