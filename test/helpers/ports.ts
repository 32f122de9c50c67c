// A free TCP port on 127.0.0.1 for a broker that runs in another process and must be told its port
// in advance (a config file or -p). Bind port 0, read the port the kernel chose, release it.
import net from 'node:net';

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
