// Loss and metric curves from the run's stats (one uPlot chart per group of series).
(function () {
  const COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#4d7c0f"];

  function groupOf(name) {
    if (name.startsWith("sec_per")) return "speed";
    if (/loss|^g_|^d_|^G|^D/.test(name)) return "losses";
    return "other";
  }

  // Tick labels with significant digits: uPlot's default keeps a fixed number of decimals, so a learning rate
  // of 4e-05 read "0 0 0 0". Six significant digits drop float noise (0.30000000000000004); very small and very
  // large values are written with an exponent ("3.8e-5").
  function tickText(v) {
    if (v == null || !isFinite(v)) return "";
    const r = Number(v.toPrecision(6)), a = Math.abs(r);
    return a !== 0 && (a < 1e-3 || a >= 1e6) ? r.toExponential() : String(r);
  }
  function ticks(u, splits) { return splits.map(tickText); }

  function chart(el, title, xName, x, series, width) {
    const names = Object.keys(series);
    const opts = {
      title: title, width: width, height: 220,
      scales: { x: { time: false } },
      axes: [{ label: xName, values: ticks }, { values: ticks, size: 60 }],
      series: [{ label: xName }].concat(names.map(function (n, i) {
        return { label: n, stroke: COLOURS[i % COLOURS.length], width: 1.5, spanGaps: true };
      })),
    };
    const box = document.createElement("div");
    box.className = "chart";
    el.appendChild(box);
    return new uPlot(opts, [x].concat(names.map(function (n) { return series[n]; })), box);
  }

  // Draw data = {x_name, x, series} into el; `prefix` labels series of one run among several (compare page).
  window.drawCurves = function (el, datasets, width) {
    const groups = {}, plots = [];
    datasets.forEach(function (d) {
      Object.keys(d.data.series).forEach(function (name) {
        const g = groupOf(name);
        (groups[g] = groups[g] || []).push({ label: (d.prefix ? d.prefix + " " : "") + name, x: d.data.x, y: d.data.series[name], xName: d.data.x_name });
      });
    });
    ["losses", "other", "speed"].forEach(function (g) {
      if (!groups[g]) return;
      // Runs differ in x: merge onto the union of x values (gaps where a run has no point).
      const xs = Array.from(new Set([].concat.apply([], groups[g].map(function (s) { return s.x; })))).sort(function (a, b) { return a - b; });
      const series = {};
      groups[g].forEach(function (s) {
        const at = new Map(s.x.map(function (v, i) { return [v, s.y[i]]; }));
        series[s.label] = xs.map(function (v) { return at.has(v) ? at.get(v) : null; });
      });
      plots.push(chart(el, g, groups[g][0].xName, xs, series, width || Math.min(el.clientWidth || 800, 900)));
    });
    el.plots = plots;  // the uPlot instances, for updates (and for tests reading their ticks)
    return plots;
  };

  const el = document.getElementById("curves");
  if (el && el.dataset.src) {
    fetch(el.dataset.src).then(function (r) { return r.json(); }).then(function (data) {
      window.drawCurves(el, [{ prefix: "", data: data }]);
    });
  }
})();
