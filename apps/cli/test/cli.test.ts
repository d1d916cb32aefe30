import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHEAP_EVAL_MS, parseLayers } from '@backprop/core';
import { afterAll, describe, expect, it } from 'vitest';
import { writeMnistSubset } from './idx.js';

// The built command, run as a user runs it: a separate process, its output and exit code.
const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'backprop-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Real digits, fewer of them: the first 10 000 training and 2 000 test images of MNIST.
// What these tests prove is the command (its files, flags, models and verdicts), and a
// full load cost every run ~2.3 s before its first step; a single SIGINT below still
// interrupts a run on the whole set, as a user's Ctrl-C would.
writeMnistSubset(join(work, 'mnist'), 10_000, 2_000);
const subset = ['--data-dir', 'mnist'];

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
      ...subset,
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
      architecture: {
        name: 'TwoLayerNet',
        input: [784],
        layers: [{ type: 'affine', units: 50 }, { type: 'relu' }, { type: 'affine', units: 10 }],
        weightInit: 0.01,
      },
      seed: 3,
      interrupted: false,
    });
    expect(metrics.loss).toHaveLength(300);
    expect(metrics.epochs[0]).toMatchObject({ iter: 0, epoch: 0 });
    expect(metrics.final.testAccuracy).toBeGreaterThan(0.85); // 30 000 samples seen: far past chance (0.1)
    expect(metrics.timing.msPerIter).toBeGreaterThan(0);
    const svg = readFileSync(join(out, 'curves.svg'), 'utf8');
    expect(svg).toMatch(/^<svg[^>]+xmlns/);
    expect(svg).toContain('Training loss');
    expect(svg).toContain('>test</text>');

    const evaluation = backprop('evaluate', ...subset, '--model', 'run/model.json', '--index', '0');
    expect(evaluation.status).toBe(0);
    expect(evaluation.stdout).toContain(`test accuracy ${metrics.final.testAccuracy.toFixed(4)}`);
    expect(evaluation.stdout).toMatch(/test image 0: label 7, predicted \d/);
    expect(evaluation.stdout).toMatch(/\|.*@@.*\|/); // the digit drawn in text
  });
});

/**
 * Signals as `timeout`, `docker stop` and systemd send them, and a user's impatient second
 * Ctrl-C: each must leave a model.json that `evaluate` loads and agrees with, and a
 * metrics.json that says the run was interrupted and how far it got.
 */
describe('backprop train stopped by a signal', () => {
  const plans: [string, NodeJS.Signals[], number][] = [
    ['SIGINT', ['SIGINT'], 130],
    ['SIGTERM', ['SIGTERM'], 143],
    ['two SIGINTs 50 ms apart', ['SIGINT', 'SIGINT'], 130],
  ];
  const stopMs: Record<string, number> = {};
  afterAll(() => console.log('from the first signal to exit, ms:', JSON.stringify(stopMs)));
  for (const backend of ['cpu', 'wasm']) {
    for (const [what, signals, code] of plans) {
      // A single SIGINT on the whole set, where measuring the stopped weights takes
      // longest (the bound's CHEAP_EVAL_MS rule decides); SIGTERM takes the same path with
      // another signal and two SIGINTs quit without measuring, so those run on the subset
      // (a load of the whole set is seconds of each run under the timing script's load).
      const data = what === 'SIGINT' ? [] : subset;
      it(`[timing] ${backend}: ${what} leaves loadable files that agree with evaluate, within a bound`, async () => {
        const out = join(work, `signal-${backend}-${signals.length}-${signals[0]}`);
        const child = spawn(
          process.execPath,
          [main, 'train', ...data, '--backend', backend, '--iters', '100000', '--out', out],
          // relative paths are the user's: INIT_CWD where pnpm set it, as backprop() runs it
          { cwd: work, env: { ...process.env, INIT_CWD: work } },
        );
        let stdout = '';
        let stderr = '';
        child.stderr.on('data', (chunk) => {
          stderr += chunk;
        });
        await new Promise<void>((resolve, reject) => {
          child.stdout.on('data', (chunk) => {
            stdout += chunk;
            if (/^\s+0\s+0\s/m.test(stdout)) resolve(); // the first epoch row: training is under way
          });
          // a run that ends before training fails here, with its words, not at the timeout
          child.on('exit', (code) => reject(new Error(`train exited ${code} first: ${stderr}`)));
        });
        await new Promise((resolve) => setTimeout(resolve, 300));
        const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
        const sent = performance.now();
        child.kill(signals[0]);
        if (signals[1]) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          child.kill(signals[1]);
        }
        expect(await exited, stderr).toBe(code);
        const took = performance.now() - sent;
        stopMs[`${backend} ${what}`] = Math.round(took);
        const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
        // A stop waits for the iteration under way, then measures the stopped weights only
        // where the last measurement took under CHEAP_EVAL_MS on this machine's own clock,
        // then writes the files (~1 MB of JSON: tens of ms). Under a hog that measurement
        // may take twice its last time; the step is this run's own. So the bound scales
        // with the machine: 2·CHEAP_EVAL_MS + 3 steps + 1 s for the files and the exit.
        const step = metrics.timing?.msPerIter ?? 0;
        expect(took).toBeLessThan(2 * CHEAP_EVAL_MS + 3 * step + 1000);
        expect(metrics).toMatchObject({ status: 'interrupted', interrupted: true, backend });
        expect(metrics.completedIters).toBeGreaterThan(0);
        expect(metrics.loss).toHaveLength(metrics.completedIters);
        const model = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
        expect(model.trainedWith.iters).toBe(metrics.completedIters);
        const evaluation = backprop(
          'evaluate',
          ...data,
          '--model',
          join(out, 'model.json'),
          '--backend',
          backend,
        );
        expect(evaluation.status, evaluation.stderr).toBe(0);
        if (metrics.final !== null) {
          expect(evaluation.stdout).toContain(
            `test accuracy ${metrics.final.testAccuracy.toFixed(4)}`,
          );
        } else if (signals.length === 1) {
          // The documented rule, on this machine: the stopped weights go unmeasured only
          // where the last whole measurement took CHEAP_EVAL_MS or more.
          expect(metrics.timing.lastEvalSeconds * 1000).toBeGreaterThanOrEqual(CHEAP_EVAL_MS);
        } // else quit at once: the stopped weights were saved, not measured
      });
    }
  }
});

describe('backprop train that diverges', () => {
  it('stops with a named error, exit 1, metrics.json saying so, and no model.json', () => {
    const run = backprop(
      'train',
      ...subset,
      '--backend',
      'wasm',
      '--iters',
      '50',
      '--lr',
      '1e10',
      '--out',
      'diverged',
    );
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(
      /^backprop: .*metrics\.json: training diverged at iteration \d+: the loss is NaN; the learning rate is likely too high \(try a tenth of it\) \(no model\.json written\)$/m,
    );
    const metrics = JSON.parse(readFileSync(join(work, 'diverged', 'metrics.json'), 'utf8'));
    expect(metrics.status).toBe('diverged');
    expect(metrics.diverged.iter).toBeGreaterThanOrEqual(0);
    expect(existsSync(join(work, 'diverged', 'model.json'))).toBe(false);
  });
});

describe('backprop train, beyond the book’s net', () => {
  it('--optimizer adam --hidden 100,100 --activation sigmoid --weight-decay: a MultiLayerNet that evaluate loads', () => {
    const run = backprop(
      'train',
      ...subset,
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
      /MultiLayerNet: \[784\] → affine 100 → sigmoid → affine 100 → sigmoid → affine 10 \(weights xavier, weight decay 0.0001\), adam lr 0.001/,
    );
    const metrics = JSON.parse(readFileSync(join(work, 'multi', 'metrics.json'), 'utf8'));
    expect(metrics).toMatchObject({
      backend: 'wasm',
      optimizer: 'adam',
      learningRate: 0.001,
      architecture: {
        name: 'MultiLayerNet',
        layers: [
          { type: 'affine', units: 100 },
          { type: 'sigmoid' },
          { type: 'affine', units: 100 },
          { type: 'sigmoid' },
          { type: 'affine', units: 10 },
        ],
        weightInit: 'xavier',
        weightDecay: 0.0001,
      },
    });
    // 30 000 samples of Adam on a sigmoid net: well past chance (0.1)
    expect(metrics.final.testAccuracy).toBeGreaterThan(0.8);
    const evaluation = backprop(
      'evaluate',
      ...subset,
      '--model',
      'multi/model.json',
      '--backend',
      'cpu',
    );
    expect(evaluation.status).toBe(0);
    // float64 on cpu from float32 weights trained on wasm: the same predictions to 4 places
    expect(evaluation.stdout).toContain(`test accuracy ${metrics.final.testAccuracy.toFixed(4)}`);
  });

  it('--model-format binary: a small model.json and model.weights.bin, which evaluate reads', () => {
    const args = [...subset, '--backend', 'wasm', '--iters', '100', '--eval-on', 'test'];
    expect(backprop('train', ...args, '--out', 'as-json').status).toBe(0);
    const run = backprop('train', ...args, '--model-format', 'binary', '--out', 'as-binary');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/wrote .*metrics.json, curves.svg, model.json, model.weights.bin/);
    const size = (dir: string, file: string) => statSync(join(work, dir, file)).size;
    // 784·50 + 50 + 50·10 + 10 = 39 760 float32 values
    expect(size('as-binary', 'model.weights.bin')).toBe(39_760 * 4);
    expect(size('as-binary', 'model.json')).toBeLessThan(2000);
    expect(size('as-json', 'model.json')).toBeGreaterThan(
      4 * size('as-binary', 'model.weights.bin'),
    );
    const accuracy = (dir: string) =>
      backprop('evaluate', ...subset, '--model', `${dir}/model.json`, '--backend', 'cpu').stdout;
    expect(accuracy('as-binary')).toMatch(/^test accuracy 0\.\d{4}/);
    expect(accuracy('as-binary')).toBe(accuracy('as-json')); // the same values, either way
  });
});

describe('backprop train: a network of any layers (chapters 6–7)', () => {
  it('--net simple-convnet trains on MNIST images, and evaluate reads its compact model to the same accuracy', () => {
    const run = backprop(
      'train',
      ...subset,
      '--net',
      'simple-convnet',
      '--backend',
      'wasm',
      '--optimizer',
      'adam',
      '--lr',
      '0.001',
      '--iters',
      '60',
      '--eval-on',
      'test',
      '--eval-every',
      '0',
      '--model-format',
      'binary',
      '--out',
      'convnet',
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /SimpleConvNet: \[1,28,28\] → conv 30 5×5 stride 1 → relu → pool 2×2 stride 2 → affine 100 → relu → affine 10 \(weights 0\.01\), adam/,
    );
    const metrics = JSON.parse(readFileSync(join(work, 'convnet', 'metrics.json'), 'utf8'));
    expect(metrics.architecture).toMatchObject({ name: 'SimpleConvNet', input: [1, 28, 28] });
    // 60 steps of Adam: far past chance (0.1); the book's net is past 0.9 within 200
    expect(metrics.final.testAccuracy).toBeGreaterThan(0.6);
    // W1 [30,1,5,5] + b1 + W2 [4320,100] + b2 + W3 [100,10] + b3: 433 890 float32 values
    expect(statSync(join(work, 'convnet', 'model.weights.bin')).size).toBe(433_890 * 4);
    const evaluation = backprop(
      'evaluate',
      ...subset,
      '--model',
      'convnet/model.json',
      '--backend',
      'wasm',
    );
    expect(evaluation.status, evaluation.stderr).toBe(0);
    expect(evaluation.stdout).toContain(`test accuracy ${metrics.final.testAccuracy.toFixed(4)}`);
  });

  it('--batchnorm --dropout: evaluate reproduces the final accuracy (running statistics, no dropout)', () => {
    const run = backprop(
      'train',
      ...subset,
      '--batchnorm',
      '--dropout',
      '0.2',
      '--hidden',
      '50,50',
      '--optimizer',
      'adam',
      '--iters',
      '200',
      '--eval-on',
      'test',
      '--eval-every',
      '0',
      '--dtype',
      'float32',
      '--out',
      'extend',
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /MultiLayerNetExtend: \[784\] → affine 50 → batchnorm → relu → dropout 0\.2 → affine 50 → batchnorm → relu → dropout 0\.2 → affine 10/,
    );
    const model = JSON.parse(readFileSync(join(work, 'extend', 'model.json'), 'utf8'));
    expect(Object.keys(model.params)).toEqual([
      'W1',
      'b1',
      'gamma1',
      'beta1',
      'W2',
      'b2',
      'gamma2',
      'beta2',
      'W3',
      'b3',
    ]);
    expect(Object.keys(model.state)).toEqual([
      'runningMean1',
      'runningVar1',
      'runningMean2',
      'runningVar2',
    ]);
    const metrics = JSON.parse(readFileSync(join(work, 'extend', 'metrics.json'), 'utf8'));
    expect(metrics.final.testAccuracy).toBeGreaterThan(0.85);
    const evaluation = backprop(
      'evaluate',
      ...subset,
      '--model',
      'extend/model.json',
      '--dtype',
      'float32',
    );
    expect(evaluation.status, evaluation.stderr).toBe(0);
    expect(evaluation.stdout).toContain(`test accuracy ${metrics.final.testAccuracy.toFixed(4)}`);
  });

  it("--net deep-convnet --shuffle: chapter 8's net from core's layers, trained with Adam on shuffled epochs", () => {
    const run = backprop(
      ...['train', ...subset, '--net', 'deep-convnet', '--iters', '3', '--batch-size', '10'],
      ...['--shuffle', '--eval-every', '0', '--eval-on', 'test', '--eval-samples', '50'],
      ...['--out', 'deep'],
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/adam lr 0\.001, iters 3, batch 10 shuffled,/);
    const metrics = JSON.parse(readFileSync(join(work, 'deep', 'metrics.json'), 'utf8'));
    expect(metrics).toMatchObject({ batchSize: 10, shuffle: true });
    expect(run.stdout).toMatch(
      /DeepConvNet: \[1,28,28\] → conv 16 3×3 pad 1 → relu → conv 16 3×3 pad 1 → relu → pool 2×2 → conv 32 3×3 pad 1 → relu → conv 32 3×3 pad 2 → relu → pool 2×2 → conv 64 3×3 pad 1 → relu → conv 64 3×3 pad 1 → relu → pool 2×2 → affine 50 → relu → dropout 0\.5 → affine 10 → dropout 0\.5/,
    );
    const model = JSON.parse(readFileSync(join(work, 'deep', 'model.json'), 'utf8'));
    expect(model.architecture).toMatchObject({ name: 'DeepConvNet', weightInit: 'he' });
  });

  it('--layer-module: a layer type of your own trains, saves, and evaluate reads it with the module', () => {
    const module = fileURLToPath(new URL('./fixtures/leaky-relu-layer.mjs', import.meta.url));
    const layers = 'affine 50, leakyrelu alpha=0.1, affine 10';
    const run = backprop(
      'train',
      ...subset,
      '--layer-module',
      module,
      '--layers',
      layers,
      '--iters',
      '200',
      '--eval-every',
      '0',
      '--eval-on',
      'test',
      '--no-eval-at-start',
      '--out',
      'leaky',
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/network: \[784\] → affine 50 → leakyrelu alpha=0\.1 → affine 10/);
    // core's README trains the same layer the same 200 iterations to 0.9002 (on all of MNIST)
    const { final } = JSON.parse(readFileSync(join(work, 'leaky', 'metrics.json'), 'utf8'));
    expect(final.testAccuracy).toBeGreaterThan(0.85);
    const model = join(work, 'leaky', 'model.json');
    const without = backprop('evaluate', ...subset, '--model', model);
    expect(without.status).toBe(1);
    expect(without.stderr).toMatch(
      /layer 2 is of type "leakyrelu", which this program has not registered \(it knows .*\): give the module that registers it with --layer-module FILE$/m,
    );
    const read = backprop('evaluate', ...subset, '--layer-module', module, '--model', model);
    expect(read.status, read.stderr).toBe(0);
    expect(read.stdout).toContain(`test accuracy ${final.testAccuracy.toFixed(4)}`);
  });

  it('--layers as words and as a JSON file build the same network', () => {
    const words = 'conv 4 5 5 stride=2 pad=1, relu, pool 2, batchnorm, affine 10';
    writeFileSync(join(work, 'layers.json'), JSON.stringify({ layers: parseLayers(words) }));
    const runs = ['as-words', 'as-file'].map((out) =>
      backprop(
        'train',
        ...subset,
        '--layers',
        out === 'as-words' ? words : 'layers.json',
        '--iters',
        '20',
        '--eval-every',
        '0',
        '--eval-on',
        'test',
        // what is compared is the loss of each step: one evaluation of 100 images will do
        '--no-eval-at-start',
        '--eval-samples',
        '100',
        '--dtype',
        'float32',
        '--out',
        out,
      ),
    );
    for (const run of runs) {
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toMatch(
        /network: \[1,28,28\] → conv 4 5×5 stride 2 pad 1 → relu → pool 2×2 → batchnorm → affine 10/,
      );
    }
    const loss = (out: string) =>
      JSON.parse(readFileSync(join(work, out, 'metrics.json'), 'utf8')).loss;
    expect(loss('as-file')).toEqual(loss('as-words')); // the same network, the same seed: the same run
  });

  it("a layer file's weightDecay and weightInit are the run's, as the flags would make them", () => {
    writeFileSync(
      join(work, 'decayed.json'),
      JSON.stringify({
        weightDecay: 0.5,
        weightInit: 'xavier',
        layers: parseLayers('affine 20, relu, affine 10'),
      }),
    );
    const common = [
      '--iters',
      '20',
      '--eval-every',
      '0',
      '--eval-on',
      'test',
      // the runs are compared by their losses: one evaluation of 100 images will do
      '--no-eval-at-start',
      '--eval-samples',
      '100',
      '--dtype',
      'float32',
    ];
    const fromFile = backprop(
      'train',
      ...subset,
      '--layers',
      'decayed.json',
      ...common,
      '--out',
      'decay-file',
    );
    const fromFlags = backprop(
      'train',
      ...subset,
      '--layers',
      'affine 20, relu, affine 10',
      '--weight-decay',
      '0.5',
      '--weight-init',
      'xavier',
      ...common,
      '--out',
      'decay-flags',
    );
    for (const run of [fromFile, fromFlags]) expect(run.status, run.stderr).toBe(0);
    const read = (out: string) => JSON.parse(readFileSync(join(work, out, 'metrics.json'), 'utf8'));
    expect(read('decay-file').loss).toEqual(read('decay-flags').loss);
    const model = JSON.parse(readFileSync(join(work, 'decay-file', 'model.json'), 'utf8'));
    expect(model.architecture).toMatchObject({ weightDecay: 0.5, weightInit: 'xavier' });
  });
});

describe('backprop gradcheck', () => {
  it('--json prints the four mean differences, each below 1e-7 in float64', () => {
    // 2 000 entries of W1 (of 39 200), the rest whole: the command's output is what this
    // checks; the book's whole check runs in backend-cpu's gradient-check test (28 s here)
    const run = backprop('gradcheck', ...subset, '--json', '--max-entries', '2000');
    expect(run.status).toBe(0);
    const result = JSON.parse(run.stdout);
    for (const name of ['W1', 'b1', 'W2', 'b2']) expect(result[name]).toBeLessThan(1e-7);
    expect(result).toMatchObject({ backend: 'cpu', dtype: 'float64', samples: 3 });
  });

  it("passes a fresh SimpleConvNet for a reason: b1 on ReLU's kink matches one side, W2 samples reached entries", () => {
    // every b1 entry meets blank windows whose output is exactly ReLU's 0 (bias 0): the
    // central difference sees half a slope there, backprop the side its mask chooses
    const run = backprop(
      'gradcheck',
      ...subset,
      '--net',
      'simple-convnet',
      '--max-entries',
      '60',
      '--json',
    );
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.verdict).toEqual({ ok: true, failed: [], untested: [] });
    expect(result.report.b1).toMatchObject({ entries: 30, passed: 30, oneSided: 30, failed: 0 });
    // W2's first 60 evenly spaced entries of 432 000 would all lie on the blank border
    // (gradient 0 both ways); half of the sample is drawn where backprop's is not 0
    expect(result.report.W2.tested).toBeGreaterThanOrEqual(30);
    expect(result.W2).toBeGreaterThan(0);
  });

  it("fails a planted bug with exit 1: max pooling's backward routed to the window's first position", () => {
    const mutant = fileURLToPath(new URL('./fixtures/pooling-mutant-backend.mjs', import.meta.url));
    const run = backprop(
      'gradcheck',
      ...subset,
      '--net',
      'simple-convnet',
      '--max-entries',
      '60',
      '--backend',
      mutant,
    );
    expect(run.status, run.stderr).toBe(1);
    expect(run.stdout).toMatch(
      /^gradient check FAILED: .* failed; W1\[\d+\]: backprop \S+, numerical \S+/m,
    );
  });

  it('checks any layer list: Convolution, Pooling and BatchNorm in float64 below 1e-8', () => {
    // Sigmoid, not ReLU: on blank MNIST windows a new convolution's output is its bias, 0,
    // exactly on ReLU's kink, where a central difference sees half a slope and backprop
    // none. h = 1e-6: BatchNorm over 3 samples curves sharply, and h²·f''' at 1e-4 is ~1e-5.
    const run = backprop(
      'gradcheck',
      ...subset,
      '--layers',
      'conv 3 5 5 stride=2 pad=1, sigmoid, pool 2, batchnorm, affine 10',
      '--h',
      '1e-6',
      '--json',
    );
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    for (const name of ['W1', 'b1', 'gamma1', 'beta1', 'W2', 'b2']) {
      // the numerical side's own error at h = 1e-6 is ~1e-16/h = 1e-10 per value
      expect(result[name], name).toBeLessThan(1e-8);
    }
  });
});

describe('backprop conformance', () => {
  it('prints case × backend for every dtype of a backend and exits 0 when all pass', () => {
    const run = backprop('conformance', '--backend', 'cpu', '--case', 'errors/,edge/');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/case\s+cpu\/float64\s+cpu\/float32/);
    expect(run.stdout).toMatch(/errors\/mismatched shapes.*✓.*✓/);
    expect(run.stdout).toMatch(
      /(\d+) cases on 2 backend configurations: \1 passed, 0 failed, 0 skipped/,
    );
  });

  it('--json gives one report per configuration', () => {
    const run = backprop('conformance', '--backend', 'cpu:float32', '--case', 'errors/', '--json');
    expect(run.status).toBe(0);
    const reports = JSON.parse(run.stdout);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ backend: 'cpu', dtype: 'float32', failed: 0 });
  });

  // A backend author's own module: the default export creates the backend.
  const fixture = (name: string) => fileURLToPath(new URL(`fixtures/${name}`, import.meta.url));

  it('runs the suite on a backend module of your own: a sound one passes', () => {
    const run = backprop(
      'conformance',
      '--backend',
      fixture('sound-backend.mjs'),
      '--case',
      'kernels/,layers/',
    );
    expect(run.stderr).not.toMatch(/✗/);
    expect(run.stdout).toMatch(
      /(\d+) cases on 1 backend configuration: \1 passed, 0 failed, 0 skipped/,
    );
    expect(run.status).toBe(0);
  });

  it('and a broken one fails, naming the kernel', () => {
    const run = backprop(
      'conformance',
      '--backend',
      fixture('broken-backend.mjs'),
      '--case',
      'kernels/,layers/',
    );
    expect(run.stderr).toMatch(
      /✗ kernels\/relu and reluBackward 3×7, with exact zeros: worst relu/,
    );
    expect(run.stdout).toMatch(/cases on 1 backend configuration: \d+ passed, [1-9]\d* failed/);
    expect(run.status).toBe(1);
  });
});

describe('backprop --version', () => {
  it('prints the version, also after a command', () => {
    for (const args of [['--version'], ['train', '--version']]) {
      const run = backprop(...args);
      expect(run.stdout).toMatch(/^backprop \d+\.\d+\.\d+ \(@backprop\/cli, Node v\d+/);
      expect(run.status).toBe(0);
    }
  });
});
