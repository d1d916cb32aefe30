/**
 * Section 5.3.3's shopping graph, drawn: forward values on the edges, then backward one
 * node at a time (figures 5-16 and 5-17): each step names the node's local rule with its
 * numbers, and the derivatives it sends back appear under bold reverse arrows. Every
 * number comes from core's MulLayer/AddLayer (buyAppleOrange).
 */
import { type AppleOrangeInputs, buyAppleOrange } from '@backprop/core';

/** 715.0000000000001 → "715": the book prints these rounded too; huge ones get an exponent. */
export const show = (v: number) =>
  Math.abs(v) >= 1e9 || (v !== 0 && Math.abs(v) < 1e-6)
    ? v.toExponential(3)
    : String(Number(v.toPrecision(10)));

const INPUTS: [keyof AppleOrangeInputs, string][] = [
  ['apple', 'apple price'],
  ['appleNum', 'apples'],
  ['orange', 'orange price'],
  ['orangeNum', 'oranges'],
  ['tax', 'tax'],
];

type Graph = ReturnType<typeof buyAppleOrange>;

/**
 * Backward, a node at a time, in the book's order: which edges get their derivative at
 * each step, and the rule that gives it, in words and numbers.
 */
const STEPS: { node: string; edges: string[]; rule: (g: Graph) => string }[] = [
  {
    node: 'price',
    edges: ['price'],
    rule: () => 'Start at the output: ∂price/∂price = 1.',
  },
  {
    node: 'mulTax',
    edges: ['allPrice', 'tax'],
    rule: (g) =>
      `× sends back to each input the incoming derivative times the other input: ${show(g.dPrice)} × ${show(g.tax)} = ${show(g.dAllPrice)} to the sum, ${show(g.dPrice)} × ${show(g.allPrice)} = ${show(g.dTax)} to the tax (∂price/∂tax).`,
  },
  {
    node: 'add',
    edges: ['applePrice', 'orangePrice'],
    rule: (g) =>
      `+ passes the incoming derivative to both inputs unchanged: ${show(g.dAllPrice)} to the apples' price and ${show(g.dAllPrice)} to the oranges'.`,
  },
  {
    node: 'mulOrange',
    edges: ['orange', 'orangeNum'],
    rule: (g) =>
      `× again: ${show(g.dOrangePrice)} × ${show(g.orangeNum)} = ${show(g.dOrange)} to the orange price, ${show(g.dOrangePrice)} × ${show(g.orange)} = ${show(g.dOrangeNum)} to the number of oranges.`,
  },
  {
    node: 'mulApple',
    edges: ['apple', 'appleNum'],
    rule: (g) =>
      `× again: ${show(g.dApplePrice)} × ${show(g.appleNum)} = ${show(g.dApple)} to the apple price, ${show(g.dApplePrice)} × ${show(g.apple)} = ${show(g.dAppleNum)} to the number of apples. Backward is done: every input knows how much the price moves with it.`,
  },
];

export function renderGraph(root: HTMLElement): void {
  root.innerHTML = `
    <h2>Buying apples and oranges (5.3.3)</h2>
    <p class="note">Edit an input: the forward pass runs again. Step through <b>backward</b> a node at a time, or see it all at once.</p>
    <div>${INPUTS.map(([key, label]) => `<label>${label} <input type="number" step="any" data-input="${key}" /></label>`).join('')}</div>
    <p class="form-error" data-testid="graph-stale" role="alert"></p>
    <p>
      <button data-testid="step-back" aria-label="previous step">◀ previous</button>
      <button data-testid="step-next" aria-label="next step">next ▶</button>
      <button data-testid="play">play</button>
      <button data-testid="backward">all of backward</button>
      <button data-testid="forward-only">forward only</button>
    </p>
    <p class="step" data-testid="step-rule" role="status" aria-live="polite"></p>
    <svg data-testid="graph-svg" class="graph" viewBox="0 0 820 400" role="img" aria-labelledby="graph-name"></svg>`;
  const values: AppleOrangeInputs = {
    apple: 100,
    appleNum: 2,
    orange: 150,
    orangeNum: 3,
    tax: 1.1,
  };
  /** How far backward has gone: 0 is forward only, STEPS.length all of it. */
  let step = 0;
  let playing: ReturnType<typeof setInterval> | null = null;
  const svg = root.querySelector('svg') as SVGSVGElement;
  const stale = root.querySelector('[data-testid=graph-stale]') as HTMLElement;
  for (const input of root.querySelectorAll<HTMLInputElement>('input[data-input]')) {
    const key = input.dataset.input as keyof AppleOrangeInputs;
    input.value = String(values[key]);
    input.addEventListener('input', () => {
      const v = Number(input.value);
      const ok = input.value.trim() !== '' && Number.isFinite(v);
      input.setAttribute('aria-invalid', String(!ok));
      if (ok) values[key] = v;
      const wrong = [...root.querySelectorAll<HTMLInputElement>('input[aria-invalid=true]')].map(
        (i) => INPUTS.find(([k]) => k === i.dataset.input)?.[1],
      );
      stale.textContent = wrong.length
        ? `${wrong.join(', ')}: enter a number — the graph still shows the last numbers given`
        : '';
      svg.classList.toggle('stale', wrong.length > 0);
      draw();
    });
  }
  const go = (to: number) => {
    step = Math.max(0, Math.min(STEPS.length, to));
    draw();
  };
  const stopPlaying = () => {
    if (playing) clearInterval(playing);
    playing = null;
    (root.querySelector('[data-testid=play]') as HTMLElement).textContent = 'play';
  };
  const on = (id: string, action: () => void) =>
    root.querySelector(`[data-testid=${id}]`)?.addEventListener('click', action);
  on('step-next', () => {
    stopPlaying();
    go(step + 1);
  });
  on('step-back', () => {
    stopPlaying();
    go(step - 1);
  });
  on('backward', () => {
    stopPlaying();
    go(STEPS.length);
  });
  on('forward-only', () => {
    stopPlaying();
    go(0);
  });
  on('play', () => {
    if (playing) return stopPlaying();
    if (step === STEPS.length) go(0);
    (root.querySelector('[data-testid=play]') as HTMLElement).textContent = 'pause';
    playing = setInterval(() => {
      go(step + 1);
      if (step === STEPS.length) stopPlaying();
    }, 1200);
  });

  function draw(): void {
    const g = buyAppleOrange(values);
    const nodes = {
      apple: [50, 40],
      appleNum: [50, 165],
      orange: [50, 235],
      orangeNum: [50, 360],
      mulApple: [250, 100],
      mulOrange: [250, 300],
      add: [450, 200],
      tax: [450, 360],
      mulTax: [620, 200],
      price: [730, 200],
    } as const;
    type Node = keyof typeof nodes;
    // [from, to, forward value, derivative of the price with respect to it, id]
    const edges: [Node, Node, number, number, string][] = [
      ['apple', 'mulApple', g.apple, g.dApple, 'apple'],
      ['appleNum', 'mulApple', g.appleNum, g.dAppleNum, 'appleNum'],
      ['orange', 'mulOrange', g.orange, g.dOrange, 'orange'],
      ['orangeNum', 'mulOrange', g.orangeNum, g.dOrangeNum, 'orangeNum'],
      ['mulApple', 'add', g.applePrice, g.dApplePrice, 'applePrice'],
      ['mulOrange', 'add', g.orangePrice, g.dOrangePrice, 'orangePrice'],
      ['add', 'mulTax', g.allPrice, g.dAllPrice, 'allPrice'],
      ['tax', 'mulTax', g.tax, g.dTax, 'tax'],
      ['mulTax', 'price', g.price, g.dPrice, 'price'],
    ];
    const done = new Set(STEPS.slice(0, step).flatMap((s) => s.edges));
    const latest = new Set(STEPS[step - 1]?.edges ?? []);
    const active = STEPS[step - 1]?.node;
    // Labels carry a white halo (drawn under the glyphs), so no line runs through a number.
    const halo = 'paint-order="stroke" stroke="white" stroke-width="5" stroke-linejoin="round"';
    const parts: string[] = [
      `<title id="graph-name">The shopping graph: price ${show(g.price)}${step ? `; backward, step ${step} of ${STEPS.length}` : ''}</title>`,
      '<defs><marker id="fwd" markerWidth="7" markerHeight="7" refX="6" refY="3.5" orient="auto" markerUnits="userSpaceOnUse"><path d="M0,0 L7,3.5 L0,7 z" fill="#333"/></marker>',
      '<marker id="bwd" markerWidth="9" markerHeight="9" refX="8" refY="4.5" orient="auto" markerUnits="userSpaceOnUse"><path d="M0,0 L9,4.5 L0,9 z" fill="#b03020"/></marker></defs>',
    ];
    for (const [from, to, value, grad, id] of edges) {
      const [fx, fy] = nodes[from];
      const [tx, ty] = nodes[to];
      // the line between the two nodes' rims (nodes are 24 px circles or labels)
      const len = Math.hypot(tx - fx, ty - fy);
      const [ux, uy] = [(tx - fx) / len, (ty - fy) / len];
      const [x1, y1, x2, y2] = [fx + ux * 30, fy + uy * 30, tx - ux * 28, ty - uy * 28];
      const [mx, my] = [(x1 + x2) / 2, (y1 + y2) / 2];
      parts.push(
        `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="#333" marker-end="url(#fwd)"/>`,
      );
      // the forward number on one side of the line, the derivative's on the other (the
      // last edge's value is the price, written at its end)
      if (to !== 'price')
        parts.push(
          `<text x="${mx + uy * 14}" y="${my - ux * 14}" text-anchor="middle" dominant-baseline="middle" ${halo} data-testid="fwd-${id}">${show(value)}</text>`,
        );
      if (done.has(id)) {
        const now = latest.has(id);
        // the reverse arrow runs 12 px below the forward one, its number below it
        const [ox, oy] = [-uy * 12, ux * 12];
        parts.push(
          `<line x1="${x2 + ox}" y1="${y2 + oy}" x2="${x1 + ox}" y2="${y1 + oy}" stroke="#b03020" stroke-width="${now ? 4 : 2.5}" marker-end="url(#bwd)"/>`,
          `<text x="${mx + ox * 2.6}" y="${my + oy * 2.6}" text-anchor="middle" dominant-baseline="middle" fill="#b03020" font-weight="bold" ${halo} data-testid="grad-${id}">${show(grad)}</text>`,
        );
      }
    }
    const label = (node: Node, text: string, circle: boolean) => {
      const [x, y] = nodes[node];
      const current = node === active;
      if (circle)
        parts.push(
          `<circle cx="${x}" cy="${y}" r="24" fill="${current ? '#fde8e0' : '#fff'}" stroke="${current ? '#b03020' : '#333'}" stroke-width="${current ? 4 : 2}"/>`,
        );
      parts.push(
        `<text x="${x}" y="${y + 6}" text-anchor="middle" font-size="${circle ? 20 : 14}" ${halo}>${text}</text>`,
      );
    };
    label('apple', 'apple', false);
    label('appleNum', 'apples', false);
    label('orange', 'orange', false);
    label('orangeNum', 'oranges', false);
    label('tax', 'tax', false);
    label('mulApple', '×', true);
    label('mulOrange', '×', true);
    label('add', '+', true);
    label('mulTax', '×', true);
    parts.push(
      `<text x="${nodes.price[0] - 22}" y="${nodes.price[1] + 6}" text-anchor="start" font-size="16" font-weight="bold" ${halo} data-testid="price">${show(g.price)}</text>`,
    );
    svg.innerHTML = parts.join('');
    (root.querySelector('[data-testid=step-rule]') as HTMLElement).textContent =
      step === 0
        ? `Forward: the price is ${show(g.price)}. Press next ▶ to send the derivative back, a node at a time.`
        : `Step ${step} of ${STEPS.length}: ${STEPS[step - 1]?.rule(g)}`;
    (root.querySelector('[data-testid=step-back]') as HTMLButtonElement).disabled = step === 0;
    (root.querySelector('[data-testid=step-next]') as HTMLButtonElement).disabled =
      step === STEPS.length;
  }
  draw();
}
