/**
 * Whether this engine runs WebAssembly SIMD, on its own: a page asks before it offers the
 * choice, and importing this (`@backprop/backend-wasm/probe`) brings none of the backend's
 * kernels into the page's first script.
 */

// The smallest module that uses a v128 instruction: validates only where SIMD exists.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15,
  253, 98, 11,
]);

/**
 * Whether this engine runs WebAssembly SIMD (f32x4), which the backend needs: a probe
 * that compiles nothing and downloads nothing.
 */
export function wasmSimdSupported(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
}
