import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// The built command, run as a user runs it: a separate process, its output and exit code.
const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'backprop-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function backprop(...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [main, ...args], {
    encoding: 'utf8',
    cwd: work,
    env: { ...process.env, INIT_CWD: work },
  });
}

describe('backprop train', () => {
  it('writes metrics.json, curves.svg and model.json that evaluate can read', () => {
    const out = join(work, 'run');
    const run = backprop(
      'train',
      '--iters',
      '300',
      '--batch-size',
      '100',
      '--dtype',
      'float32',
      '--seed',
      '3',
      '--out',
      'run',
    );
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/backend: cpu: pure TypeScript, float32/);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics).toMatchObject({
      backend: 'cpu',
      dtype: 'float32',
      iters: 300,
      batchSize: 100,
      optimizer: 'sgd',
      learningRate: 0.1,
      architecture: { kind: 'TwoLayerNet', hiddenSizes: [50], activation: 'relu' },
      seed: 3,
      interrupted: false,
    });
    expect(metrics.loss).toHaveLength(300);
    expect(metrics.epochs[0]).toMatchObject({ iter: 0, epoch: 0 });
    expect(metrics.final.testAccuracy).toBeGreaterThan(0.85); // half an epoch: far past chance (0.1)
    expect(metrics.timing.msPerIter).toBeGreaterThan(0);
    const svg = readFileSync(join(out, 'curves.svg'), 'utf8');
    expect(svg).toMatch(/^<svg[^>]+xmlns/);
    expect(svg).toContain('Training loss');
    expect(svg).toContain('>test</text>');

    const evaluation = backprop('evaluate', '--model', 'run/model.json', '--index', '0');
    expect(evaluation.status).toBe(0);
    expect(evaluation.stdout).toContain(`test accuracy ${metrics.final.testAccuracy.toFixed(4)}`);
    expect(evaluation.stdout).toMatch(/test image 0: label 7, predicted \d/);
    expect(evaluation.stdout).toMatch(/\|.*@@.*\|/); // the digit drawn in text
  }, 120_000);

  it('on Ctrl-C stops, writes what it has, and exits 130', async () => {
    const out = join(work, 'interrupted');
    const child = spawn(process.execPath, [main, 'train', '--iters', '100000', '--out', out], {
      cwd: work,
    });
    let stdout = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
        if (/^\s+0\s+0\s/m.test(stdout)) resolve(); // the first epoch row: training is under way
      });
    });
    child.kill('SIGINT');
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(130);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.interrupted).toBe(true);
    expect(metrics.completedIters).toBeGreaterThan(0);
    expect(metrics.completedIters).toBeLessThan(100_000);
    expect(metrics.loss).toHaveLength(metrics.completedIters);
    expect(existsSync(join(out, 'model.json'))).toBe(true);
    expect(existsSync(join(out, 'curves.svg'))).toBe(true);
  }, 120_000);
});

describe('backprop train, beyond the book’s net', () => {
  it('--optimizer adam --hidden 100,100 --activation sigmoid --weight-decay: a MultiLayerNet that evaluate loads', () => {
    const run = backprop(
      'train',
      '--backend',
      'wasm',
      '--optimizer',
      'adam',
      '--hidden',
      '100,100',
      '--activation',
      'sigmoid',
      '--weight-decay',
      '0.0001',
      '--iters',
      '300',
      '--out',
      'multi',
    );
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(
      /MultiLayerNet 784-100-100-10 \(sigmoid, weights xavier, weight decay 0.0001\), adam lr 0.001/,
    );
    const metrics = JSON.parse(readFileSync(join(work, 'multi', 'metrics.json'), 'utf8'));
    expect(metrics).toMatchObject({
      backend: 'wasm',
      optimizer: 'adam',
      learningRate: 0.001,
      architecture: {
        kind: 'MultiLayerNet',
        hiddenSizes: [100, 100],
        activation: 'sigmoid',
        weightInit: 'xavier',
        weightDecay: 0.0001,
      },
    });
    // half an epoch of Adam on a sigmoid net: well past chance (0.1)
    expect(metrics.final.testAccuracy).toBeGreaterThan(0.8);
    const evaluation = backprop('evaluate', '--model', 'multi/model.json', '--backend', 'cpu');
    expect(evaluation.status).toBe(0);
    // float64 on cpu from float32 weights trained on wasm: the same predictions to 4 places
    expect(evaluation.stdout).toContain(`test accuracy ${metrics.final.testAccuracy.toFixed(4)}`);
  }, 120_000);
});

describe('backprop gradcheck', () => {
  it('--json prints the four mean differences, each below 1e-7 in float64', () => {
    const run = backprop('gradcheck', '--json');
    expect(run.status).toBe(0);
    const result = JSON.parse(run.stdout);
    for (const name of ['W1', 'b1', 'W2', 'b2']) expect(result[name]).toBeLessThan(1e-7);
    expect(result).toMatchObject({ backend: 'cpu', dtype: 'float64', samples: 3 });
  }, 60_000);
});

describe('backprop conformance', () => {
  it('prints case × backend for every dtype of a backend and exits 0 when all pass', () => {
    const run = backprop('conformance', '--backend', 'cpu', '--case', 'errors/,edge/');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/case\s+cpu\/float64\s+cpu\/float32/);
    expect(run.stdout).toMatch(/errors\/mismatched shapes.*✓.*✓/);
    expect(run.stdout).toMatch(/(\d+) cases on 2 backend configurations: \1 passed, 0 failed/);
  }, 60_000);

  it('--json gives one report per configuration', () => {
    const run = backprop('conformance', '--backend', 'cpu:float32', '--case', 'errors/', '--json');
    expect(run.status).toBe(0);
    const reports = JSON.parse(run.stdout);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ backend: 'cpu', dtype: 'float32', failed: 0 });
  }, 60_000);
});

describe('user mistakes: one line, non-zero exit, no stack trace', () => {
  const cases: [string[], RegExp, number][] = [
    [
      ['train', '--backend', 'nope'],
      /^backprop: unknown backend 'nope'; backends: cpu, wasm, tfjs-wasm, tfjs-cpu, tfjs-webgl, tfjs-webgpu, tfjs-node, gpujs, gpujs-headlessgl, gpujs-webgl2, gpujs-webgl, gpujs-webasm\n$/,
      1,
    ],
    [
      ['train', '--iters', 'ten'],
      /^backprop: --iters must be a whole number >= 1, got 'ten'\n$/,
      2,
    ],
    [['train', '--lr', '0'], /^backprop: --lr must be a positive number, got '0'\n$/, 2],
    [
      ['train', '--lr', '-1'],
      /--lr needs a value; for one that starts with '-', write --lr=VALUE\n$/,
      2,
    ],
    [
      ['train', '--dtype', 'float16'],
      /--dtype must be one of float64, float32, got 'float16'\n$/,
      2,
    ],
    [
      ['train', '--wat'],
      /^backprop: train: unknown option --wat; see 'backprop train --help'\n$/,
      2,
    ],
    [
      ['train', '--data-dir', 'no-such-dir'],
      /no-such-dir\/train-images-idx3-ubyte: file not found\n$/,
      1,
    ],
    [['fly'], /^backprop: unknown command 'fly'/, 2],
    [['evaluate'], /--model FILE is required/, 2],
    [
      ['conformance', '--backend', 'cpu:float16'],
      /backend 'cpu' has no float16; it offers float64, float32\n$/,
      2,
    ],
    [
      ['conformance', '--case', 'kernel/'],
      /no conformance case starts with 'kernel\/'; groups: kernels\/, overrides\//,
      2,
    ],
    [
      ['train', '--optimizer', 'lbfgs'],
      /--optimizer must be one of sgd, momentum, adagrad, adam, got 'lbfgs'\n$/,
      2,
    ],
    [
      ['train', '--hidden', '100,,100'],
      /--hidden must be whole numbers >= 1, separated by commas/,
      2,
    ],
    [
      ['train', '--weight-init', 'zero'],
      /--weight-init must be he, xavier or a positive standard deviation/,
      2,
    ],
    [
      ['train', '--weight-decay', '-0.1'],
      /--weight-decay needs a value; for one that starts with '-'/,
      2,
    ],
    [['train', '--weight-decay=-0.1'], /--weight-decay must be a number >= 0, got '-0.1'/, 2],
    [['evaluate', '--model', 'missing.json'], /missing\.json: file not found\n$/, 1],
    [['evaluate', '--model', 'garbage.json'], /garbage\.json: is not valid JSON/, 1],
    [
      ['evaluate', '--model', 'other.json'],
      /other\.json: not a backprop model file: "format" must be/,
      1,
    ],
  ];
  writeFileSync(join(work, 'garbage.json'), '{"format": ');
  writeFileSync(join(work, 'other.json'), '{"name": "not a model"}');
  for (const [args, message, status] of cases) {
    it(`backprop ${args.join(' ')}`, () => {
      const run = backprop(...args);
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(run.status).toBe(status);
    }, 30_000);
  }
});
