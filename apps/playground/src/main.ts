import { renderConformance } from './conformance-page.js';
import { renderDraw } from './draw.js';
import { renderGraph } from './graph.js';
import { renderLayers } from './layers-page.js';
import { renderTrain } from './train.js';

renderGraph(document.getElementById('graph') as HTMLElement);
renderLayers(document.getElementById('graph') as HTMLElement);
renderTrain(document.getElementById('train') as HTMLElement);
renderDraw(document.getElementById('draw') as HTMLElement);
renderConformance(document.getElementById('conformance') as HTMLElement);

function showTab(): void {
  const tab = location.hash.slice(1) || 'graph';
  for (const section of document.querySelectorAll<HTMLElement>('.tab'))
    section.classList.toggle('active', section.id === tab);
  for (const link of document.querySelectorAll<HTMLElement>('nav a')) {
    link.classList.toggle('active', link.dataset.tab === tab);
    if (link.dataset.tab === tab) {
      link.setAttribute('aria-current', 'page');
      // on a phone the tabs scroll sideways: keep the current one in sight
      link.scrollIntoView({ block: 'nearest', inline: 'nearest' });
    } else link.removeAttribute('aria-current');
  }
}
window.addEventListener('hashchange', showTab);
showTab();
