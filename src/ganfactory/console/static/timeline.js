// The training sample grids as a timeline: the slider (or the arrow keys on it) picks the grid shown.
(function () {
  const box = document.getElementById("timeline");
  if (!box) return;
  const frames = JSON.parse(box.dataset.frames), labels = JSON.parse(box.dataset.labels);
  const slider = document.getElementById("timeline-slider"), image = document.getElementById("timeline-image");
  const label = document.getElementById("timeline-label");
  slider.addEventListener("input", function () {
    const i = Number(slider.value);
    image.src = box.dataset.base + frames[i];
    label.textContent = labels[i];
  });
})();
