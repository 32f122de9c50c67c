// An SVG bar chart of the ratios (log scale around 1×), so the standing shows at a glance.
export function svgChart(rows, meta) {
  const W = 760;
  const rowH = 26;
  const left = 330;
  const plotW = W - left - 80;
  const H = 60 + rows.length * rowH + 30;
  const maxLog = Math.log2(32); // bars span 1/32× … 32×
  const x = (ratio) => left + plotW / 2 + (Math.max(-maxLog, Math.min(maxLog, Math.log2(ratio))) / maxLog) * (plotW / 2);
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">Midge vs aedes (blue) and Mosquitto (orange): &gt; 1× = Midge ahead</text>`,
    `<text x="10" y="38" fill="#555">${esc(meta.date.slice(0, 10))}, ${esc(meta.machine)}, ${esc(meta.command)}</text>`,
  ];
  for (const t of [1 / 16, 1 / 4, 1, 4, 16]) {
    const xx = x(t);
    parts.push(`<line x1="${xx}" y1="50" x2="${xx}" y2="${H - 25}" stroke="${t === 1 ? '#000' : '#ddd'}"/>`);
    parts.push(`<text x="${xx}" y="${H - 10}" text-anchor="middle" fill="#555">${t < 1 ? `1/${1 / t}` : t}×</text>`);
  }
  rows.forEach((r, i) => {
    const y = 55 + i * rowH;
    parts.push(`<text x="${left - 8}" y="${y + 15}" text-anchor="end">${esc(r.label)}</text>`);
    [['vsAedes', '#3b75af', 0], ['vsMosquitto', '#ef8636', 11]].forEach(([key, color, dy]) => {
      const v = r[key];
      if (!v) return;
      const x0 = x(1);
      const x1 = x(v);
      parts.push(`<rect x="${Math.min(x0, x1)}" y="${y + dy + 2}" width="${Math.max(1, Math.abs(x1 - x0))}" height="9" fill="${color}"/>`);
      parts.push(`<text x="${x1 + (v >= 1 ? 4 : -4)}" y="${y + dy + 10}" font-size="9" text-anchor="${v >= 1 ? 'start' : 'end'}">${v.toFixed(2)}</text>`);
    });
  });
  parts.push('</svg>');
  return parts.join('\n');
}
