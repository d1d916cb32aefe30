/**
 * Section 5.3.3's shopping graph, drawn: forward values on the edges, and with "backward"
 * the derivatives flowing back under bold reverse arrows, as the book draws them. Every
 * number comes from core's MulLayer/AddLayer (buyAppleOrange).
 */
import { type AppleOrangeInputs, buyAppleOrange } from '@backprop/core';

/** 715.0000000000001 → "715": the book prints these rounded too. */
export const show = (v: number) => String(Number(v.toPrecision(10)));

const INPUTS: [keyof AppleOrangeInputs, string][] = [
  ['apple', 'apple price'],
  ['appleNum', 'apples'],
  ['orange', 'orange price'],
  ['orangeNum', 'oranges'],
  ['tax', 'tax'],
];

export function renderGraph(root: HTMLElement): void {
  root.innerHTML = `
    <h2>Buying apples and oranges (5.3.3)</h2>
    <p class="note">Edit an input: the forward pass runs again. Press <b>backward</b> to send the derivative 1 back from the price.</p>
    <div>${INPUTS.map(([key, label]) => `<label>${label} <input type="number" step="any" data-input="${key}" /></label>`).join('')}</div>
    <p><button data-testid="backward">backward</button><button data-testid="forward-only">forward only</button></p>
    <svg data-testid="graph-svg" viewBox="0 0 760 390" width="760" height="390"></svg>`;
  const values: AppleOrangeInputs = {
    apple: 100,
    appleNum: 2,
    orange: 150,
    orangeNum: 3,
    tax: 1.1,
  };
  let backward = false;
  const svg = root.querySelector('svg') as SVGSVGElement;
  for (const input of root.querySelectorAll<HTMLInputElement>('input[data-input]')) {
    const key = input.dataset.input as keyof AppleOrangeInputs;
    input.value = String(values[key]);
    input.addEventListener('input', () => {
      const v = Number(input.value);
      if (input.value.trim() !== '' && Number.isFinite(v)) {
        values[key] = v;
        input.setCustomValidity('');
        draw();
      } else input.setCustomValidity('a number, please');
    });
  }
  root.querySelector('[data-testid=backward]')?.addEventListener('click', () => {
    backward = true;
    draw();
  });
  root.querySelector('[data-testid=forward-only]')?.addEventListener('click', () => {
    backward = false;
    draw();
  });

  function draw(): void {
    const g = buyAppleOrange(values);
    const nodes = {
      apple: [40, 40],
      appleNum: [40, 160],
      orange: [40, 230],
      orangeNum: [40, 350],
      mulApple: [230, 100],
      mulOrange: [230, 290],
      add: [420, 195],
      tax: [420, 350],
      mulTax: [580, 195],
      price: [720, 195],
    } as const;
    type Node = keyof typeof nodes;
    // [from, to, forward value, derivative of the price with respect to it, test id]
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
    const parts: string[] = [
      '<defs><marker id="fwd" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#333"/></marker>',
      '<marker id="bwd" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#c0392b"/></marker></defs>',
    ];
    for (const [from, to, value, grad, id] of edges) {
      const [x1, y1] = nodes[from];
      const [x2, y2] = nodes[to];
      const [mx, my] = [(x1 + x2) / 2, (y1 + y2) / 2];
      parts.push(
        `<line x1="${x1 + 22}" y1="${y1}" x2="${x2 - 24}" y2="${y2}" stroke="#333" marker-end="url(#fwd)"/>`,
      );
      parts.push(
        `<text x="${mx}" y="${my - 8}" text-anchor="middle" data-testid="fwd-${id}">${show(value)}</text>`,
      );
      if (backward) {
        parts.push(
          `<line x1="${x2 - 24}" y1="${y2 + 10}" x2="${x1 + 22}" y2="${y1 + 10}" stroke="#c0392b" stroke-width="3" marker-end="url(#bwd)"/>`,
        );
        parts.push(
          `<text x="${mx}" y="${my + 26}" text-anchor="middle" fill="#c0392b" font-weight="bold" data-testid="grad-${id}">${show(grad)}</text>`,
        );
      }
    }
    const label = (node: Node, text: string, circle: boolean) => {
      const [x, y] = nodes[node];
      parts.push(
        circle
          ? `<circle cx="${x}" cy="${y}" r="22" fill="#fff" stroke="#333" stroke-width="2"/>`
          : '',
      );
      parts.push(
        `<text x="${x}" y="${y + 5}" text-anchor="middle" font-size="${circle ? 18 : 13}">${text}</text>`,
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
      `<text x="${nodes.price[0]}" y="${nodes.price[1] + 5}" text-anchor="middle" font-size="15" font-weight="bold" data-testid="price">${show(g.price)}</text>`,
    );
    svg.innerHTML = parts.join('');
  }
  draw();
}
