// bench/proxy: the benchmark backend — a Node http server answering every request with a fixed-size body.
// Usage: node --import tsx bench/proxy/backend.ts PORT BODY_BYTES   (prints "ready PORT")
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const port = Number(process.argv[2] ?? 0);
const size = Number(process.argv[3] ?? 2);
const body = size <= 2 ? Buffer.from('ok') : Buffer.alloc(size, 0x61);
const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    res.end(body);
  });
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`ready ${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
