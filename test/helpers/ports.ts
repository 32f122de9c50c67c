// Ports for brokers that run in another process.
//
// freePort() binds port 0, reads the port the kernel chose and releases it, so that a config file
// or -p can name it in advance. Between the release and the broker's own bind, anything else on
// the machine that binds port 0 (a parallel test file's in-process broker, another freePort(), a
// benchmark run) may be given the same port: the broker then exits with EADDRINUSE, or, worse, a
// probe that waits for "the port accepts connections" finds the other process listening there.
// Where the broker is ours to configure, prefer `listener 0 127.0.0.1` and listeningPort(): the
// broker binds the port itself and says which one it got.
import net from 'node:net';
import type { Proc } from './proc.ts';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The port a Midge process started with `listener 0 127.0.0.1` is listening on, from its
 * "Opening ipv4 listen socket on 127.0.0.1 port N." line (printed once the socket listens, after
 * persistence is loaded). Rejects if the process exits first or prints nothing within `ms`.
 */
export async function listeningPort(p: Proc, ms = 30_000): Promise<number> {
  const line = await p.waitFor(/Opening ipv4 listen socket on 127\.0\.0\.1 port \d+\./, ms, 'stderr');
  return Number(/port (\d+)\./.exec(line)![1]);
}
