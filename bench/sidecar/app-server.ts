/** The protected application of the benchmark: the cheapest HTTP server that answers a small JSON body. */
import http from 'node:http';

const port = Number(process.argv[2] ?? 0);
const body = JSON.stringify({ id: 42, status: 'shipped', items: 3 });
const server = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
