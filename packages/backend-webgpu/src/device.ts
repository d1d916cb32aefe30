// The WebGPU types for this package's own compile only: its published types name none of
// them (see WebgpuDevice), so a project that has another copy of @webgpu/types
// (TensorFlow.js's webgpu engine brings 0.1.38) or TypeScript's lib.dom compiles with both.
/// <reference types="@webgpu/types" />
/**
 * Finding a GPU device: the browser's `navigator.gpu`, or in Node the npm package
 * `webgpu` (Dawn, prebuilt). In Node a real GPU comes first; without one, SwiftShader —
 * the software Vulkan driver that ships with Chromium — where it is installed. Dawn's
 * "null" adapter looks like a device and computes nothing: it is refused.
 */
import { BackendError } from '@backprop/core';

/**
 * A `GPUDevice`, by the members this backend checks: any copy of the WebGPU types (or a
 * browser's own) gives one that fits.
 */
export interface WebgpuDevice {
  readonly queue: object;
  createBuffer(descriptor: never): object;
  createComputePipeline(descriptor: never): object;
}

export interface DeviceOptions {
  /** Use this device (a `GPUDevice` created by you) instead of finding one. */
  device?: WebgpuDevice;
  /** Prefer the integrated ('low-power') or the discrete ('high-performance', default) GPU. */
  powerPreference?: 'low-power' | 'high-performance';
  /**
   * Node: SwiftShader's Vulkan driver manifest, tried when no real GPU answers (default:
   * the one Debian's and Ubuntu's `chromium` packages install). `false`: never fall back.
   */
  swiftshader?: string | false;
}

/** Where Linux distributions' Chromium puts SwiftShader's Vulkan driver manifest. */
export const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/snap/chromium/current/usr/lib/chromium-browser/vk_swiftshader_icd.json',
];

/** @internal */
export interface AcquiredDevice {
  device: GPUDevice;
  /** The adapter, in words. */
  adapter: string;
  software: boolean;
  /**
   * What must stay referenced as long as the device is used: in Node, Dawn's instance.
   * If the garbage collector takes it, Dawn goes on polling the freed instance and the
   * process crashes a few hundred submits later.
   */
  keepAlive: unknown;
}

interface NavigatorGpu {
  requestAdapter(options?: GPURequestAdapterOptions): Promise<GPUAdapter | null>;
}

interface Found {
  adapter: GPUAdapter | null;
  /** Why there is none, when there is none. */
  tried: string;
  /** Dawn's GPU object the adapter came from (kept alive as long as its devices are used). */
  instance: NavigatorGpu | null;
}

/** @internal */
export async function acquireDevice(options: DeviceOptions): Promise<AcquiredDevice> {
  if (options.device) {
    return {
      device: options.device as unknown as GPUDevice,
      adapter: 'a device you gave',
      software: false,
      keepAlive: null,
    };
  }
  const browserGpu = (globalThis as { navigator?: { gpu?: NavigatorGpu } }).navigator?.gpu;
  const isNode = typeof process === 'object' && typeof process.versions?.node === 'string';
  const request = { powerPreference: options.powerPreference ?? 'high-performance' } as const;

  let found: Found;
  if (browserGpu && !isNode) {
    found = {
      adapter: await browserGpu.requestAdapter(request),
      tried:
        'navigator.gpu.requestAdapter() found no adapter (Chromium without a supported GPU offers one with --enable-unsafe-webgpu)',
      instance: null,
    };
  } else if (isNode) {
    found = await nodeAdapter(request, options.swiftshader);
  } else {
    throw new BackendError('webgpu: this browser has no WebGPU (navigator.gpu is missing)');
  }
  const { adapter } = found;
  if (!adapter) throw new BackendError(`webgpu: no GPU adapter: ${found.tried}`);
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  });
  return {
    device,
    adapter: describe(adapter),
    software: isSoftware(adapter),
    keepAlive: found.instance,
  };
}

/**
 * Node: puts Dawn where code written for browsers looks for WebGPU (`navigator.gpu`),
 * choosing as this backend does — a real GPU, else SwiftShader, never the null adapter —
 * so that gpu.js's webgpu mode and TensorFlow.js's webgpu engine run in Node too. In a
 * browser it only checks that there is WebGPU. Resolves to the adapter, in words; the
 * second call answers the first's.
 */
export async function provideNavigatorGpu(
  options: Omit<DeviceOptions, 'device'> = {},
): Promise<{ adapter: string; software: boolean }> {
  provided ??= (async () => {
    const isNode = typeof process === 'object' && typeof process.versions?.node === 'string';
    const navigator = (globalThis as { navigator?: { gpu?: NavigatorGpu } }).navigator;
    const request = { powerPreference: options.powerPreference ?? 'high-performance' } as const;
    if (!isNode) {
      const adapter = await navigator?.gpu?.requestAdapter(request);
      if (!adapter) throw new BackendError('webgpu: this browser offers no WebGPU adapter');
      return { adapter: describe(adapter), software: isSoftware(adapter) };
    }
    const found = await nodeAdapter(request, options.swiftshader);
    if (!found.adapter) throw new BackendError(`webgpu: no GPU adapter: ${found.tried}`);
    // Node 20 has no navigator; Node 22 and later have one without gpu.
    if (navigator)
      Object.defineProperty(navigator, 'gpu', { value: found.instance, configurable: true });
    else
      Object.defineProperty(globalThis, 'navigator', {
        value: { gpu: found.instance },
        configurable: true,
        writable: true,
      });
    return { adapter: describe(found.adapter), software: isSoftware(found.adapter) };
  })();
  // A failure is not kept: the next call tries again (after an install, say).
  return provided.catch((error) => {
    provided = undefined;
    throw error;
  });
}
let provided: Promise<{ adapter: string; software: boolean }> | undefined;

/** Dawn in Node: a real adapter, else SwiftShader; never the null backend. */
async function nodeAdapter(
  request: GPURequestAdapterOptions,
  swiftshader: string | false | undefined,
): Promise<Found> {
  let dawn: { create(flags: string[]): NavigatorGpu; globals: Record<string, unknown> };
  try {
    const name = 'webgpu'; // an optional peer: looked up at run time, never bundled
    dawn = await import(/* @vite-ignore */ name);
  } catch (error) {
    throw new BackendError(
      `webgpu: in Node the backend needs the npm package webgpu (Dawn): npm install webgpu@0.6 (${(error as Error).message.split('\n')[0]})`,
    );
  }
  Object.assign(globalThis, dawn.globals); // GPUBufferUsage and the rest, as in a browser
  // SwiftShader and the Vulkan loader complain on stderr when this is unset.
  process.env.XDG_RUNTIME_DIR ??= (await import('node:os')).tmpdir();
  const { existsSync, readdirSync } = await import('node:fs');
  // Linux without a GPU's device node (/dev/dri/renderD*, NVIDIA's, WSL's /dev/dxg) has
  // only CPU Vulkan drivers, such as Mesa's lavapipe, which Dawn refuses with a warning on
  // stderr at every probe: SwiftShader is asked straight away there.
  const gpuNode =
    process.platform !== 'linux' ||
    existsSync('/dev/nvidia0') ||
    existsSync('/dev/dxg') ||
    (existsSync('/dev/dri') && readdirSync('/dev/dri').some((f) => f.startsWith('renderD')));
  if (gpuNode) {
    const instance = dawn.create([]);
    const real = usable(await instance.requestAdapter(request));
    if (real) return { adapter: real, tried: '', instance };
  }

  const icd =
    swiftshader === false
      ? undefined
      : (swiftshader ?? SWIFTSHADER_ICDS.find((path) => existsSync(path)));
  const noGpu = 'Dawn found no GPU it can use';
  if (!icd || !existsSync(icd)) {
    return {
      adapter: null,
      tried: icd
        ? `${noGpu}; the SwiftShader manifest ${icd} does not exist`
        : `${noGpu}, and no SwiftShader Vulkan driver to fall back on (on Debian: apt-get install chromium libvulkan1, which installs ${SWIFTSHADER_ICDS[0]})`,
      instance: null,
    };
  }
  // The Vulkan loader reads this when Dawn makes a new instance: only SwiftShader is seen.
  process.env.VK_ICD_FILENAMES = icd;
  const software = dawn.create([]);
  return {
    adapter: usable(await software.requestAdapter(request)),
    tried: `${noGpu}, nor SwiftShader through ${icd} (is the Vulkan loader, libvulkan1, installed?)`,
    instance: software,
  };
}

/** Dawn's null backend answers like an adapter but computes nothing: refuse it. */
function usable(adapter: GPUAdapter | null): GPUAdapter | null {
  if (!adapter) return null;
  const { device, vendor, architecture, description } = adapter.info;
  if (device === 'null-backend' || (!vendor && !architecture && !description)) return null;
  return adapter;
}

function isSoftware(adapter: GPUAdapter): boolean {
  const { architecture, device, description } = adapter.info;
  return (
    architecture === 'swiftshader' ||
    /swiftshader|llvmpipe|lavapipe/i.test(`${device} ${description}`)
  );
}

/** "google swiftshader (SwiftShader driver 5.0.0)", "nvidia hopper": the adapter, for a person. */
function describe(adapter: GPUAdapter): string {
  const { vendor, architecture, device, description } = adapter.info;
  const name =
    [vendor, architecture].filter(Boolean).join(' ') || description || device || 'an adapter';
  const detail = description && !name.includes(description) ? ` (${description})` : '';
  return `${name}${detail}${isSoftware(adapter) ? ' — software, for correctness not speed' : ''}`;
}
