// Loss and metric curves from the run's stats (one uPlot chart per group of series), with TensorBoard's
// smoothing slider, and one colour per run on the compare page. On the page of a running job they follow the
// run: the polled heading (run.html) fires "run-update" with a stamp of stats.jsonl, and a changed stamp
// refetches the series and redraws the charts in place.
(function () {
  const COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#4d7c0f"];
  const DASHES = [[], [8, 4], [2, 3], [10, 3, 2, 3]];
  const ORDER = ["losses", "other", "speed"];
  const drawn = [];  // [el, datasets] of every container, redrawn when the smoothing slider moves

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

  // TensorBoard's smoothing: an exponential moving average, debiased so the first points are not pulled to 0;
  // gaps stay gaps.
  function smooth(values, weight) {
    if (!weight) return values;
    let last = 0, n = 0;
    return values.map(function (v) {
      if (v == null || !isFinite(v)) return v;
      last = last * weight + (1 - weight) * v;
      n += 1;
      return last / (1 - Math.pow(weight, n));
    });
  }

  function smoothing() {
    const slider = document.getElementById("smoothing");
    return slider ? Number(slider.value) : 0;
  }

  // One run: a colour per series. Several runs (compare page): one colour per run, and a dash pattern per metric,
  // so every curve of a run has the run's colour.
  function style(group, name, i) {
    const m = group.meta[name];
    if (!group.runs) return { stroke: COLOURS[i % COLOURS.length] };
    return { stroke: COLOURS[m.run % COLOURS.length], dash: DASHES[group.metrics.indexOf(m.metric) % DASHES.length] };
  }

  function chart(el, group, width) {
    const names = Object.keys(group.series);
    const opts = {
      title: group.name, width: width, height: 220,
      scales: { x: { time: false } },
      axes: [{ label: group.xName, values: ticks }, { values: ticks, size: 60 }],
      series: [{ label: group.xName }].concat(names.map(function (n, i) {
        return Object.assign({ label: n, width: 1.5, spanGaps: true }, style(group, n, i));
      })),
    };
    const box = document.createElement("div");
    box.className = "chart";
    el.appendChild(box);
    return new uPlot(opts, columns(group), box);
  }

  function columns(group) {
    const weight = smoothing();
    return [group.x].concat(Object.keys(group.series).map(function (n) { return smooth(group.series[n], weight); }));
  }

  // The series of every dataset grouped into charts; runs differ in x, so each chart's series are put on the
  // union of x values (null where a run has no point).
  function grouped(datasets) {
    const groups = {};
    datasets.forEach(function (d, run) {
      Object.keys(d.data.series).forEach(function (name) {
        const g = groupOf(name);
        (groups[g] = groups[g] || []).push({ label: (d.prefix ? d.prefix + " " : "") + name, x: d.data.x, y: d.data.series[name],
                                             xName: d.data.x_name, run: run, metric: name });
      });
    });
    return ORDER.filter(function (g) { return groups[g]; }).map(function (g) {
      const xs = Array.from(new Set([].concat.apply([], groups[g].map(function (s) { return s.x; })))).sort(function (a, b) { return a - b; });
      const series = {}, meta = {}, metrics = [];
      groups[g].forEach(function (s) {
        const at = new Map(s.x.map(function (v, i) { return [v, s.y[i]]; }));
        series[s.label] = xs.map(function (v) { return at.has(v) ? at.get(v) : null; });
        meta[s.label] = { run: s.run, metric: s.metric };
        if (metrics.indexOf(s.metric) < 0) metrics.push(s.metric);
      });
      return { name: g, xName: groups[g][0].xName, x: xs, series: series, meta: meta, metrics: metrics.sort(),
               runs: datasets.length > 1 };
    });
  }

  // Draw data = {x_name, x, series} into el; `prefix` labels series of one run among several (compare page).
  // Called again, charts with the same series get the new data in place (no flicker); otherwise they are rebuilt.
  window.drawCurves = function (el, datasets, width) {
    const groups = grouped(datasets);
    const key = JSON.stringify(groups.map(function (g) { return [g.name, Object.keys(g.series)]; }));
    const known = drawn.find(function (d) { return d[0] === el; });
    if (known) known[1] = datasets; else drawn.push([el, datasets]);
    if (el.plots && el.dataset.curvesKey === key) {
      groups.forEach(function (g, i) { el.plots[i].setData(columns(g)); });
    } else {
      (el.plots || []).forEach(function (p) { p.destroy(); });
      el.querySelectorAll(".chart").forEach(function (box) { box.remove(); });
      const w = width || Math.min(el.clientWidth || 800, 900);
      el.plots = groups.map(function (g) { return chart(el, g, w); });  // kept for updates (and tests)
      el.dataset.curvesKey = key;
    }
    el.dataset.points = String(Math.max.apply(null, [0].concat(groups.map(function (g) { return g.x.length; }))));
    return el.plots;
  };

  const slider = document.getElementById("smoothing");
  if (slider) {
    slider.addEventListener("input", function () {
      document.getElementById("smoothing-value").textContent = slider.value;
      drawn.forEach(function (d) { window.drawCurves(d[0], d[1]); });
    });
  }

  const el = document.getElementById("curves");
  if (!el || !el.dataset.src) return;
  let stamp = el.dataset.stats;
  function load() {
    fetch(el.dataset.src, { cache: "no-store" }).then(function (r) { return r.json(); }).then(function (data) {
      if (!data.x || !data.x.length) return;
      document.getElementById("curves-empty").hidden = true;
      window.drawCurves(el, [{ prefix: "", data: data }]);
    });
  }
  load();
  document.body.addEventListener("run-update", function (e) {
    if (e.detail.stats === stamp) return;
    stamp = e.detail.stats;
    load();
  });
})();
