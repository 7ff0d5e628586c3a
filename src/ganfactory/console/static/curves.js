// Loss and metric curves from the run's stats (one uPlot chart per group of series), with TensorBoard's
// smoothing slider, a log-scale y axis, an x axis of training progress (kimg/epoch), time since the run's first
// tick or wall time (the stats' "time"), and one colour per run on the compare page. On the page of a running job
// they follow the run: the polled heading (run.html) fires "run-update" with a stamp of stats.jsonl, and a changed
// stamp refetches the series and redraws the charts in place.
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

  function logScale() {
    const box = document.getElementById("log-scale");
    return !!(box && box.checked);
  }

  // "step" (the records' kimg/epoch), "relative" (seconds since the run's first tick) or "wall" (the clock)
  function xMode() {
    const select = document.getElementById("x-axis");
    return select ? select.value : "step";
  }

  // Durations on the relative axis: "45 s", "12.5 min", "3.2 h"; an axis writes all its ticks in the unit of its
  // largest one, with steps that are whole seconds, minutes or hours (DURATION_STEPS).
  const DURATION_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
                          172800, 432000, 864000];
  function durationUnit(a) { return a < 120 ? [1, " s"] : a < 7200 ? [60, " min"] : [3600, " h"]; }
  function durationText(v, unit) {
    if (v == null || !isFinite(v)) return "";
    const u = unit || durationUnit(Math.abs(v));
    return tickText(Number((v / u[0]).toPrecision(3))) + u[1];
  }
  function durations(u, splits) {
    const unit = durationUnit(Math.max.apply(null, splits.map(function (v) { return Math.abs(v) || 0; })));
    return splits.map(function (v) { return durationText(v, unit); });
  }

  // One run: a colour per series. Several runs (compare page): one colour per run, and a dash pattern per metric,
  // so every curve of a run has the run's colour.
  function style(group, name, i) {
    const m = group.meta[name];
    if (!group.runs) return { stroke: COLOURS[i % COLOURS.length] };
    return { stroke: COLOURS[m.run % COLOURS.length], dash: DASHES[group.metrics.indexOf(m.metric) % DASHES.length] };
  }

  function xAxis(group) {
    if (group.xMode === "wall") return { label: group.xName };  // uPlot's own date and time labels
    if (group.xMode === "relative") return { label: group.xName, values: durations, incrs: DURATION_STEPS };
    return { label: group.xName, values: ticks };
  }

  function xSeries(group) {
    const series = { label: group.xName };
    if (group.xMode === "relative") series.value = function (u, v) { return durationText(v); };
    return series;
  }

  function chart(el, group, width) {
    const names = Object.keys(group.series);
    // distr 3: uPlot's logarithmic scale (values <= 0 become gaps, see columns)
    const opts = {
      title: group.name, width: width, height: 220,
      scales: { x: { time: group.xMode === "wall" }, y: group.log ? { distr: 3 } : { distr: 1 } },
      axes: [xAxis(group), { values: ticks, size: 60 }],
      series: [xSeries(group)].concat(names.map(function (n, i) {
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
    return [group.x].concat(Object.keys(group.series).map(function (n) {
      const values = smooth(group.series[n], weight);
      // a log axis has no place for zero or negative values: they are left out (gaps), not clamped
      return group.log ? values.map(function (v) { return v == null || v > 0 ? v : null; }) : values;
    }));
  }

  // One run's x values in the chosen mode, and the indexes of its points that have one (older stats lines
  // have no "time", so they have no place on a time axis).
  function xOf(data, mode) {
    if (mode === "step" || !data.time) return { x: data.x, keep: null };
    const first = data.time.find(function (t) { return t != null; });
    const x = [], keep = [];
    data.time.forEach(function (t, i) {
      if (t == null) return;
      x.push(mode === "relative" ? t - first : t);
      keep.push(i);
    });
    return { x: x, keep: keep };
  }

  function hasTime(datasets) {
    return datasets.some(function (d) { return d.data.time && d.data.time.some(function (t) { return t != null; }); });
  }

  // The series of every dataset grouped into charts; runs differ in x, so each chart's series are put on the
  // union of x values (null where a run has no point).
  function grouped(datasets) {
    const groups = {}, log = logScale();
    const mode = xMode() !== "step" && hasTime(datasets) ? xMode() : "step";
    const xName = { step: datasets.length ? datasets[0].data.x_name : "", relative: "time since the first tick",
                    wall: "wall time" }[mode];
    datasets.forEach(function (d, run) {
      if (mode !== "step" && !d.data.time) return;  // a run whose stats have no clock: nothing to place
      const at = xOf(d.data, mode);
      Object.keys(d.data.series).forEach(function (name) {
        const g = groupOf(name), values = d.data.series[name];
        const y = at.keep ? at.keep.map(function (i) { return values[i]; }) : values;
        (groups[g] = groups[g] || []).push({ label: (d.prefix ? d.prefix + " " : "") + name, x: at.x, y: y,
                                             xName: xName, run: run, metric: name });
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
               runs: datasets.length > 1, log: log, xMode: mode };
    });
  }

  // Draw data = {x_name, x, series} into el; `prefix` labels series of one run among several (compare page).
  // Called again, charts with the same series get the new data in place (no flicker); otherwise they are rebuilt.
  window.drawCurves = function (el, datasets, width) {
    const groups = grouped(datasets);
    // the axes' kinds are fixed when a chart is made: another scale or x axis rebuilds the charts
    const key = JSON.stringify(groups.map(function (g) { return [g.name, Object.keys(g.series), g.log, g.xMode]; }));
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
    showAxisChoices(datasets);
    return el.plots;
  };

  // The x-axis menu names the runs' own unit, and offers the time axes only when some run's stats have a clock.
  function showAxisChoices(datasets) {
    const select = document.getElementById("x-axis");
    if (!select || !datasets.length) return;
    const timed = hasTime(datasets);
    select.querySelector('option[value="step"]').textContent = datasets[0].data.x_name;
    select.querySelectorAll('option[value="relative"], option[value="wall"]').forEach(function (o) { o.disabled = !timed; });
    const note = document.getElementById("x-axis-note");
    if (note) note.hidden = timed;
  }

  function redraw() { drawn.forEach(function (d) { window.drawCurves(d[0], d[1]); }); }
  const slider = document.getElementById("smoothing");
  if (slider) {
    slider.addEventListener("input", function () {
      document.getElementById("smoothing-value").textContent = slider.value;
      redraw();
    });
  }
  ["log-scale", "x-axis"].forEach(function (id) {
    const control = document.getElementById(id);
    if (control) control.addEventListener("change", redraw);
  });

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
