import { createServer } from 'node:net';

// A free loopback TCP port. Another process can take it before QEMU binds it; the boot path
// retries with a new port when QEMU reports the forward could not be set up.
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
