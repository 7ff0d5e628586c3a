// Compare page: every run's curves on shared charts, and one slider showing each run's grid at (or just
// before) the same kimg/epoch.
(function () {
  const box = document.getElementById("compare-curves");
  if (box) {
    const ids = JSON.parse(box.dataset.runs), names = JSON.parse(box.dataset.names);
    Promise.all(ids.map(function (id) { return fetch("/runs/" + id + "/curves.json").then(function (r) { return r.json(); }); }))
      .then(function (all) {
        window.drawCurves(box, all.map(function (data, i) { return { prefix: names[i], data: data }; }));
      });
  }
  const slider = document.getElementById("compare-slider");
  if (!slider) return;
  const points = JSON.parse(slider.dataset.points);
  const figures = Array.from(document.querySelectorAll("figure[data-frames]"));
  function show() {
    const at = points[Number(slider.value)];
    document.getElementById("compare-at").textContent = "at " + at;
    figures.forEach(function (f) {
      const frames = JSON.parse(f.dataset.frames).filter(function (fr) { return fr.at <= at; });
      const frame = frames[frames.length - 1];
      const img = f.querySelector("img");
      if (frame) { img.src = frame.src; f.querySelector(".frame-label").textContent = frame.label; img.style.visibility = "visible"; }
      else { img.style.visibility = "hidden"; f.querySelector(".frame-label").textContent = "(no grid yet)"; }
    });
  }
  slider.addEventListener("input", show);
  show();
})();
