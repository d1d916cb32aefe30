/**
 * Section 7.4.3: a window sliding over images [N, C, H, W] — a convolution's filter or a
 * pooling window — and the gather maps that lay its positions out as the rows of a matrix
 * (im2col), so a convolution is one matrix product and a pooling one reduction.
 */
import type { WindowDims } from './contract.js';
import { ShapeError } from './errors.js';
import { formatShape } from './shapes.js';

/** A window: its height and width, how far it moves (stride) and the zeros around the image (pad). */
export interface Window {
  height: number;
  width: number;
  stride: number;
  pad: number;
}

/** Checks a window's numbers: whole, size and stride ≥ 1, pad ≥ 0. */
export function checkWindow(where: string, window: Window): void {
  for (const [name, min] of [
    ['height', 1],
    ['width', 1],
    ['stride', 1],
    ['pad', 0],
  ] as const) {
    const value = window[name];
    if (!Number.isSafeInteger(value) || value < min) {
      throw new ShapeError(where, `window ${name} must be a whole number >= ${min}, got ${value}`);
    }
  }
}

/** The window over images `shape` [N, C, H, W], or a ShapeError saying why it does not fit. */
export function windowDims(where: string, shape: readonly number[], window: Window): WindowDims {
  checkWindow(where, window);
  if (shape.length !== 4) {
    throw new ShapeError(
      where,
      `input must be images [batch, channels, height, width], got ${formatShape(shape)}`,
    );
  }
  const [batch, channels, height, width] = shape;
  const { stride, pad } = window;
  const span = [height + 2 * pad, width + 2 * pad];
  if (window.height > span[0] || window.width > span[1]) {
    throw new ShapeError(
      where,
      `a ${window.height}×${window.width} window does not fit ${height}×${width} images${pad ? ` padded by ${pad}` : ''} (input ${formatShape(shape)})`,
    );
  }
  return {
    batch,
    channels,
    height,
    width,
    windowHeight: window.height,
    windowWidth: window.width,
    stride,
    pad,
    outHeight: Math.floor((span[0] - window.height) / stride) + 1,
    outWidth: Math.floor((span[1] - window.width) / stride) + 1,
  };
}

/** How a convolution's filters move over the images: the window's size is the filters'. */
export type FilterStep = Pick<Window, 'stride' | 'pad'>;

/**
 * A convolution's dims: images `shape` [N, C, H, W] under filters `filterShape`
 * [FN, C, FH, FW] (and a bias [FN], where given), or a ShapeError saying what does not fit.
 */
export function convolutionDims(
  where: string,
  shape: readonly number[],
  filterShape: readonly number[],
  { stride, pad }: FilterStep,
  bias?: { shape: readonly number[] },
): WindowDims & { filters: number } {
  if (filterShape.length !== 4) {
    throw new ShapeError(
      where,
      `filters must be [filters, channels, height, width], got ${formatShape(filterShape)}`,
    );
  }
  const [filters, channels, height, width] = filterShape as [number, number, number, number];
  const d = windowDims(where, shape, { height, width, stride, pad });
  if (channels !== d.channels) {
    throw new ShapeError(
      where,
      `images ${formatShape(shape)} have ${d.channels} channels, but the filters ${formatShape(filterShape)} read ${channels}`,
    );
  }
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== filters)) {
    throw new ShapeError(
      where,
      `the bias must be [${filters}], one a filter, got ${formatShape(bias.shape)}`,
    );
  }
  return { ...d, filters };
}

/** im2col's column matrix: a row each window position of every image, C·FH·FW values a row. */
export function im2colShape(d: WindowDims): [number, number] {
  return [d.batch * d.outHeight * d.outWidth, d.channels * d.windowHeight * d.windowWidth];
}

/**
 * im2col's map for one image (the book's `im2col`): row (oy, ox) of the column matrix,
 * column (c, fy, fx), reads pixel (c, oy·stride + fy − pad, ox·stride + fx − pad), or a
 * 0 (−1) in the padding. A sample's output is outHeight·outWidth rows of
 * channels·windowHeight·windowWidth values.
 */
export function im2colIndex(d: WindowDims): Int32Array {
  const patch = d.channels * d.windowHeight * d.windowWidth;
  const index = new Int32Array(d.outHeight * d.outWidth * patch);
  let i = 0;
  for (let oy = 0; oy < d.outHeight; oy++) {
    for (let ox = 0; ox < d.outWidth; ox++) {
      for (let c = 0; c < d.channels; c++) {
        for (let fy = 0; fy < d.windowHeight; fy++) {
          for (let fx = 0; fx < d.windowWidth; fx++) {
            index[i++] = pixel(d, c, oy * d.stride + fy - d.pad, ox * d.stride + fx - d.pad);
          }
        }
      }
    }
  }
  return index;
}

/**
 * Pooling's map for one image: the book's im2col reshaped to one window a row, with the
 * rows in [channels, outHeight, outWidth] order, so a row-wise max is already the
 * output [C, OH, OW] (the book gets there by a transpose).
 */
export function poolIndex(d: WindowDims): Int32Array {
  const index = new Int32Array(
    d.channels * d.outHeight * d.outWidth * d.windowHeight * d.windowWidth,
  );
  let i = 0;
  for (let c = 0; c < d.channels; c++) {
    for (let oy = 0; oy < d.outHeight; oy++) {
      for (let ox = 0; ox < d.outWidth; ox++) {
        for (let fy = 0; fy < d.windowHeight; fy++) {
          for (let fx = 0; fx < d.windowWidth; fx++) {
            index[i++] = pixel(d, c, oy * d.stride + fy - d.pad, ox * d.stride + fx - d.pad);
          }
        }
      }
    }
  }
  return index;
}

/** The flat index of pixel (c, y, x) in an image, or −1 outside it (the padding's zeros). */
function pixel(d: WindowDims, c: number, y: number, x: number): number {
  if (y < 0 || y >= d.height || x < 0 || x >= d.width) return -1;
  return (c * d.height + y) * d.width + x;
}

/**
 * Where permuting a sample of `shape` by `axes` moves a block of trailing axes to the front
 * (axes = [k, …, rank−1, 0, …, k−1]), it is the sample read as a [rows, cols] matrix —
 * rows the leading axes, cols the trailing — transposed; else undefined.
 */
export function transposeOf(
  shape: readonly number[],
  axes: readonly number[],
): { rows: number; cols: number } | undefined {
  const rank = shape.length;
  const k = axes[0] ?? 0;
  if (k === 0 || !axes.every((a, i) => a === (k + i) % rank)) return undefined;
  const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
  return { rows: product(shape.slice(0, k)), cols: product(shape.slice(k)) };
}

/**
 * The map that permutes the axes of one sample of shape `shape` (numpy's transpose):
 * output axis k is input axis `axes[k]`.
 */
export function permuteIndex(shape: readonly number[], axes: readonly number[]): Int32Array {
  const rank = shape.length;
  const strides = new Array<number>(rank).fill(1);
  for (let k = rank - 2; k >= 0; k--) strides[k] = strides[k + 1] * shape[k + 1];
  const outShape = axes.map((a) => shape[a]);
  const size = outShape.reduce((a, b) => a * b, 1);
  const index = new Int32Array(size);
  const at = new Array<number>(rank).fill(0); // the output position, as a counter
  for (let i = 0; i < size; i++) {
    let source = 0;
    for (let k = 0; k < rank; k++) source += at[k] * strides[axes[k]];
    index[i] = source;
    for (let k = rank - 1; k >= 0; k--) {
      if (++at[k] < outShape[k]) break;
      at[k] = 0;
    }
  }
  return index;
}
