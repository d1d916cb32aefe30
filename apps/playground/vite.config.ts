import { defineConfig } from 'vite';

export default defineConfig({
  // Served from any path (a folder of static files), so assets are relative.
  base: './',
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 4000 },
});
