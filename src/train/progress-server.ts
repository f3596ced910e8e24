// The live training-progress page: a local HTTP server that a browser opens while training
// runs. The page polls the current chart every second.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chartHtml, echartsScript, type ChartOption } from './charts.js';

export interface ProgressServer {
  url: string;
  update(option: ChartOption, done?: boolean): void;
  close(): Promise<void>;
}

export async function startProgressServer(port: number, title = 'dlkit training progress'): Promise<ProgressServer> {
  let current: string = JSON.stringify({ title: { text: 'waiting for the first iteration…' } });
  const page = chartHtml(null, title, { scriptUrl: '/echarts.min.js', pollUrl: '/progress.json' });
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (url === '/' || url === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    } else if (url === '/progress.json') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(current);
    } else if (url === '/echarts.min.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'max-age=3600' }).end(echartsScript());
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(err.code === 'EADDRINUSE' ? `plots: port ${port} is in use; choose another with plotsPort (0 picks a free one)` : `plots: ${err.message}`)));
    server.listen(port, '127.0.0.1', () => resolve());
  });
  server.unref(); // never keeps the process alive on its own
  const { port: actual } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${actual}/`,
    update(option, done = false) {
      current = JSON.stringify({ ...option, done });
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
