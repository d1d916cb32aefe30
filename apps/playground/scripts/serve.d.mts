import type { Server } from 'node:http';

/** The headers that make the page cross-origin isolated (COOP + COEP). */
export const ISOLATION_HEADERS: Record<string, string>;
/** Serves dist/ on 127.0.0.1 (port 0: any free port). */
export function serve(port?: number): Promise<Server>;
