/**
 * Cross-origin isolation (COOP + COEP): the page gets SharedArrayBuffer, so the wasm
 * backend runs its products on every core inside the page's worker. Vite's dev server
 * and its preview (scripts/serve.mjs) both send them.
 */
export const ISOLATION_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
};
