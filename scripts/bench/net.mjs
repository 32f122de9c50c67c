// Ports for the benchmark drivers: a free loopback port, and waiting for a broker to listen on it.
import net from 'node:net';

export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Resolves once `port` accepts a connection. With `child` (the broker's process), rejects as soon
 * as it exits: a port taken by someone else between freePort() and the broker's bind must not be
 * mistaken for the broker (freePort releases the port before the broker binds it).
 */
export function waitForPort(port, ms = 10_000, child = undefined) {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child && child.exitCode !== null) return reject(new Error(`the broker exited (${child.exitCode}) before listening on ${port}`));
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        // A broker that lost the race for its port exits; whoever answered was not it.
        if (child && child.exitCode !== null) reject(new Error(`the broker exited (${child.exitCode}) before listening on ${port}`));
        else resolve();
      });
      s.on('error', () => (Date.now() > deadline ? reject(new Error(`port ${port} never opened`)) : setTimeout(attempt, 50)));
    };
    attempt();
  });
}
