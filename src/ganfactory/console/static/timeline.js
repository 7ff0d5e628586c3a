// The training sample grids as a timeline: the slider (or the arrow keys on it) picks the grid shown. On the
// page of a running job, each "run-update" (see run.html) brings the grids written since; a slider left at the
// newest grid moves on to the new newest one, a slider moved back stays on the grid it shows.
(function () {
  const box = document.getElementById("timeline");
  if (!box) return;
  let frames = JSON.parse(box.dataset.frames), labels = JSON.parse(box.dataset.labels);
  const slider = document.getElementById("timeline-slider"), image = document.getElementById("timeline-image");
  const label = document.getElementById("timeline-label"), count = document.getElementById("timeline-count");
  const empty = document.getElementById("timeline-empty");

  function show(i) {
    if (!frames.length) return;
    if (image.getAttribute("src") !== box.dataset.base + frames[i]) image.src = box.dataset.base + frames[i];
    label.textContent = labels[i];
  }
  slider.addEventListener("input", function () { show(Number(slider.value)); });

  document.body.addEventListener("run-update", function (e) {
    const next = e.detail.frames || [], nextLabels = e.detail.labels || [];
    if (JSON.stringify([next, nextLabels]) === JSON.stringify([frames, labels])) return;
    const atEnd = !frames.length || Number(slider.value) >= frames.length - 1;
    const shown = frames[Number(slider.value)];
    frames = next;
    labels = nextLabels;
    slider.max = String(Math.max(frames.length - 1, 0));
    const kept = frames.indexOf(shown);
    slider.value = String(atEnd || kept < 0 ? frames.length - 1 : kept);
    show(Number(slider.value));
    count.textContent = "(" + frames.length + " grids)";
    box.dataset.frames = JSON.stringify(frames);  // what the page shows now (tests read it)
    box.hidden = !frames.length;
    empty.hidden = frames.length > 0;
  });
})();
