#!/usr/bin/env node
// Serves the built page (dist/) on localhost: `pnpm playground`, then open the printed URL.
// The server is Vite's own `preview` (compression, ETags, the headers below), not ours.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export { ISOLATION_HEADERS } from './headers.mjs';

/** Starts `vite preview` on dist/ (port 0: any free one); resolves to Node's http.Server. */
export async function serve(port = 0) {
  const { preview } = await import('vite');
  const server = await preview({
    root: join(here, '..'),
    configFile: join(here, '../vite.config.ts'),
    logLevel: 'warn',
    preview: { port, strictPort: port !== 0, host: '127.0.0.1', open: false },
  });
  return server.httpServer;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!existsSync(join(here, '../dist/index.html'))) {
    console.error('playground: nothing built yet; run `pnpm build` (or `pnpm install`) first');
    process.exit(1);
  }
  const server = await serve(Number(process.env.PORT ?? 5173));
  console.log(`playground: http://127.0.0.1:${server.address().port}/`);
}
