/**
 * Model files for the command's tests: a small version 2 TwoLayerNet (16 inputs, 3 hidden,
 * 10 classes, float32), changed by the test into the mistake it needs.
 */

/** A parameter entry of `shape`, every value `value`. */
export const param = (shape: number[], value = 0.01) => ({
  shape,
  values: new Array(shape.reduce((a, b) => a * b, 1)).fill(value),
});

/** The model file's text, after `change` edits the parsed object. */
export const model = (change: (m: Record<string, unknown>) => void = () => {}) => {
  const m: Record<string, unknown> = {
    format: 'backprop.network',
    version: 2,
    architecture: {
      kind: 'TwoLayerNet',
      inputSize: 16,
      hiddenSizes: [3],
      outputSize: 10,
      activation: 'relu',
      weightInit: 0.01,
      weightDecay: 0,
    },
    dtype: 'float32',
    params: { W1: param([16, 3]), b1: param([3]), W2: param([3, 10]), b2: param([10]) },
  };
  change(m);
  return JSON.stringify(m);
};
