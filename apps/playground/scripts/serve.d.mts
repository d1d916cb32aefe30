import type { Server } from 'node:http';

export { ISOLATION_HEADERS } from './headers.mjs';
/** `vite preview` on dist/, on 127.0.0.1 (port 0: any free port). */
export function serve(port?: number): Promise<Server>;
