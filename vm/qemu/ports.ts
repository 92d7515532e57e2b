import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';

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

/** A UDP port on 127.0.0.1 that is free right now (for a QEMU UDP tunnel end). */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    sock.on('error', reject);
    sock.bind(0, '127.0.0.1', () => {
      const port = sock.address().port;
      sock.close(() => resolve(port));
    });
  });
}
