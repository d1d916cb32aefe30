/** The headers that make the page cross-origin isolated (COOP + COEP). */
export const ISOLATION_HEADERS: Record<string, string>;
