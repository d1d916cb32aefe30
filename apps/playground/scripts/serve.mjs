#!/usr/bin/env node
// Serves the built page (dist/) on localhost: `pnpm playground`, then open the printed URL.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../dist');
const types = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * Cross-origin isolation (COOP + COEP): the page gets SharedArrayBuffer, so the wasm
 * backend runs its products on every core inside the page's worker.
 */
export const ISOLATION_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
};

export function serve(port = 0) {
  const server = createServer((request, response) => {
    let decoded;
    try {
      decoded = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    } catch {
      response.writeHead(400).end('bad request: the path is not valid percent-encoding');
      return;
    }
    const path = normalize(decoded).replace(/^(\.\.[/\\])+/, '');
    let file = join(root, path);
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!file.startsWith(root) || !existsSync(file)) {
      response.writeHead(404).end('not found');
      return;
    }
    response.writeHead(200, {
      'content-type': types[extname(file)] ?? 'application/octet-stream',
      ...ISOLATION_HEADERS,
    });
    createReadStream(file).pipe(response);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!existsSync(join(root, 'index.html'))) {
    console.error('playground: nothing built yet; run `pnpm build` (or `pnpm install`) first');
    process.exit(1);
  }
  const server = await serve(Number(process.env.PORT ?? 5173));
  console.log(`playground: http://127.0.0.1:${server.address().port}/`);
}
