import { WebgpuBackend } from '../src/index.js';

/** Why this machine has no WebGPU adapter, or '' where it has one (a GPU, or SwiftShader). */
export async function webgpuUnavailable(): Promise<string> {
  try {
    (await WebgpuBackend.create()).close();
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}
