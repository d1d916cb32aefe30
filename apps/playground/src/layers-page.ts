/**
 * Sections 5.5–5.6 as pictures: a ReLU, a Sigmoid and an Affine layer on small vectors,
 * forward then backward, each step with its rule and its numbers. The numbers come from
 * core's own layers on the CPU backend (float64, the book's numpy precision).
 */
import { CpuBackend } from '@backprop/backend-cpu';
import { Affine, type Backend, Relu, Sigmoid, type Tensor } from '@backprop/core';
import { show } from './graph.js';
import { escapeHtml } from './html.js';

interface Walk {
  title: string;
  /** Rows of the table once forward has run, and the sentence that says why. */
  forward: { rows: [string, Tensor][]; rule: string };
  backward: { rows: [string, Tensor][]; rule: string };
}

const vector = (b: Backend, t: Tensor) => Array.from(b.readSync(t)).map(show);

function walks(b: Backend): Walk[] {
  const x = b.tensor([1, -0.5, 2, 0], [1, 4]);
  const dout = b.tensor([0.5, 0.5, -1, 2], [1, 4]);
  const relu = new Relu(b);
  const reluOut = relu.forward(x);
  const reluDx = relu.backward(dout);
  const sigmoid = new Sigmoid(b);
  const sigOut = sigmoid.forward(x);
  const sigDx = sigmoid.backward(dout);
  const [y0, y1] = vector(b, sigOut);
  const W = b.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  const bias = b.tensor([0.1, 0.2, 0.3], [3]);
  const affine = new Affine(b, W, bias);
  const ax = b.tensor([1, 2], [1, 2]);
  const ay = affine.forward(ax);
  const adout = b.tensor([1, 0.5, -1], [1, 3]);
  const adx = affine.backward(adout) as Tensor;
  return [
    {
      title: 'ReLU (5.5.1)',
      forward: {
        rows: [
          ['x', x],
          ['y = max(0, x)', reluOut],
        ],
        rule: 'Forward: each value passes where it is positive and becomes 0 where it is not.',
      },
      backward: {
        rows: [
          ['∂L/∂y (given)', dout],
          ['∂L/∂x', reluDx],
        ],
        rule: `Backward: the derivative passes where x was positive and stops (0) where it was not — the same switch as forward, so ∂L/∂x = [${vector(b, reluDx).join(', ')}].`,
      },
    },
    {
      title: 'Sigmoid (5.5.2)',
      forward: {
        rows: [
          ['x', x],
          ['y = 1 / (1 + exp(−x))', sigOut],
        ],
        rule: `Forward: y = 1 / (1 + exp(−x)), e.g. 1 / (1 + exp(−1)) = ${y0}, 1 / (1 + exp(0.5)) = ${y1}.`,
      },
      backward: {
        rows: [
          ['∂L/∂y (given)', dout],
          ['∂L/∂x = ∂L/∂y · y(1 − y)', sigDx],
        ],
        rule: `Backward: only y is needed — ∂L/∂x = ∂L/∂y · y(1 − y), e.g. 0.5 × ${y0} × (1 − ${y0}) = ${vector(b, sigDx)[0]}.`,
      },
    },
    {
      title: 'Affine (5.6.1)',
      forward: {
        rows: [
          ['x', ax],
          ['W (2×3)', W],
          ['b', bias],
          ['y = x·W + b', ay],
        ],
        rule: 'Forward: y = x·W + b: 1×1 + 2×4 + 0.1 = 9.1, 1×2 + 2×5 + 0.2 = 12.2, 1×3 + 2×6 + 0.3 = 15.3.',
      },
      backward: {
        rows: [
          ['∂L/∂y (given)', adout],
          ['∂L/∂x = ∂L/∂y · Wᵀ', adx],
          ['∂L/∂W = xᵀ · ∂L/∂y', affine.dW as Tensor],
          ['∂L/∂b = Σ ∂L/∂y over the batch', affine.db as Tensor],
        ],
        rule: 'Backward: ∂L/∂x = ∂L/∂y·Wᵀ (1×1 + 0.5×2 − 1×3 = −1, 1×4 + 0.5×5 − 1×6 = 0.5), ∂L/∂W = xᵀ·∂L/∂y (each x times each derivative), ∂L/∂b = ∂L/∂y summed over the batch (here one sample).',
      },
    },
  ];
}

export function renderLayers(root: HTMLElement): void {
  const section = document.createElement('section');
  section.className = 'layers';
  section.innerHTML = `
    <h2>Layers, forward and backward (5.5–5.6)</h2>
    <p class="note">The same two steps in the layers of a network: pick one, then step.</p>
    <p>
      <label>layer <select data-testid="layer">
        <option value="0">ReLU</option><option value="1">Sigmoid</option><option value="2">Affine</option>
      </select></label>
      <button data-testid="layer-forward">forward</button>
      <button data-testid="layer-backward">backward</button>
    </p>
    <p class="step" data-testid="layer-rule" role="status" aria-live="polite"></p>
    <div class="table-scroll"><table class="layer" data-testid="layer-table"></table></div>`;
  root.append(section);
  const backend = new CpuBackend({ dtype: 'float64' });
  const all = walks(backend);
  const select = section.querySelector('select') as HTMLSelectElement;
  let backward = false;
  const draw = () => {
    const walk = all[Number(select.value)] as Walk;
    const rows = backward ? [...walk.forward.rows, ...walk.backward.rows] : walk.forward.rows;
    (section.querySelector('[data-testid=layer-table]') as HTMLElement).innerHTML = rows
      .map(([name, t], i) => {
        const values = vector(backend, t);
        const cols = t.shape[t.shape.length - 1] as number;
        const lines: string[] = [];
        for (let r = 0; r < values.length; r += cols)
          lines.push(values.slice(r, r + cols).join(', '));
        const isBackward = i >= walk.forward.rows.length;
        return `<tr class="${isBackward ? 'grad' : ''}"><th scope="row">${escapeHtml(name)}</th><td>[${lines.map(escapeHtml).join('],<br>[')}]</td></tr>`;
      })
      .join('');
    (section.querySelector('[data-testid=layer-rule]') as HTMLElement).textContent =
      `${walk.title}. ${backward ? walk.backward.rule : walk.forward.rule}`;
  };
  select.addEventListener('change', () => {
    backward = false;
    draw();
  });
  section.querySelector('[data-testid=layer-forward]')?.addEventListener('click', () => {
    backward = false;
    draw();
  });
  section.querySelector('[data-testid=layer-backward]')?.addEventListener('click', () => {
    backward = true;
    draw();
  });
  draw();
}
