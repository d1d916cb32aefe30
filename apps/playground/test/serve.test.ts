import type { AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import { ISOLATION_HEADERS, serve } from '../scripts/serve.mjs';

it('serves the page cross-origin isolated, compressed and revalidated; bad requests get a 4xx and it goes on', async () => {
  const server = await serve(0);
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    for (const [name, value] of Object.entries(ISOLATION_HEADERS)) {
      expect(page.headers.get(name)).toBe(value);
    }
    // the page's script, compressed for a browser that asks (fetch asks for gzip and br)
    const script = /src="\.\/(assets\/index-[\w-]+\.js)"/.exec(await page.text())?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${base}/${script}`);
    expect(asset.headers.get('content-encoding')).toMatch(/^(gzip|br)$/);
    // HTTP caching: the ETag comes back, and the same file again is a 304 with no body
    const etag = asset.headers.get('etag') as string;
    expect(etag).toBeTruthy();
    const again = await fetch(`${base}/${script}`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    // %E0 alone is not valid UTF-8; a missing file is not the page
    expect((await fetch(`${base}/%E0`)).status).toBeGreaterThanOrEqual(400);
    expect((await fetch(`${base}/%E0`)).status).toBeLessThan(500);
    expect((await fetch(`${base}/no-such-file.js`)).status).toBe(404);
    expect((await fetch(`${base}/`)).status).toBe(200);
  } finally {
    server.close();
  }
});
