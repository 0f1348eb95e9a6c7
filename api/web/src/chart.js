// A bar or line chart of one series over labelled points, drawn by uPlot into a canvas. The
// figures themselves are in a table under each chart (readable, and what tests compare).

import { h } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import htm from 'htm';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const html = htm.bind(h);

export function Chart({ labels, values, name, kind = 'bars', format = String, height = 220 }) {
  const box = useRef(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const xs = labels.map((_, i) => i);
    const width = () => Math.max(240, el.clientWidth);
    const opts = {
      width: width(),
      height,
      legend: { show: false },
      cursor: { show: true, points: { show: kind !== 'bars' } },
      scales: {
        x: { time: false, range: [-0.5, Math.max(labels.length - 0.5, 0.5)] },
        y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      axes: [
        {
          splits: () => xs,
          // Every other label when they would not fit side by side.
          values: (u, splits) => {
            const skip = labels.length * 52 > u.width ? 2 : 1;
            return splits.map((i) => (i % skip === 0 ? labels[i] ?? '' : ''));
          },
          grid: { show: false },
          size: 40,
        },
        { values: (u, splits) => splits.map((v) => format(v)), size: 72 },
      ],
      series: [
        {},
        {
          label: name,
          stroke: '#0a58a8',
          width: 2,
          fill: kind === 'bars' ? 'rgba(10,88,168,0.75)' : 'rgba(10,88,168,0.12)',
          paths: kind === 'bars' ? uPlot.paths.bars({ size: [0.6, 64] }) : undefined,
          points: { show: kind !== 'bars' },
        },
      ],
    };
    const plot = new uPlot(opts, [xs, values], el);
    const resize = () => plot.setSize({ width: width(), height });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [labels.join('|'), values.join('|'), kind, name]);
  return html`<div class="chart" ref=${box} role="img" aria-label=${name}></div>`;
}
