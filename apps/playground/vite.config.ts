import { defineConfig } from 'vite';
import { ISOLATION_HEADERS } from './scripts/headers.mjs';

export default defineConfig({
  // Served from any path (a folder of static files), so assets are relative.
  base: './',
  // A folder of files, not a single-page app: a missing file is a 404, not index.html.
  appType: 'mpa',
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 4000 },
  // The worker (training, evaluation, conformance) is a module: it imports backends on demand.
  worker: { format: 'es' },
  // Cross-origin isolated, as scripts/serve.mjs serves it: SharedArrayBuffer for wasm threads.
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
});
