import type { AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import { ISOLATION_HEADERS, serve } from '../scripts/serve.mjs';

it('serves the page cross-origin isolated, and survives a malformed URL', async () => {
  const server = await serve(0);
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    for (const [name, value] of Object.entries(ISOLATION_HEADERS)) {
      expect(page.headers.get(name)).toBe(value);
    }
    // %E0 alone is not valid UTF-8: a 400 for that request, and the server goes on
    expect((await fetch(`${base}/%E0`)).status).toBe(400);
    expect((await fetch(`${base}/`)).status).toBe(200);
  } finally {
    server.close();
  }
});
