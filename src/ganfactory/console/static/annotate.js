// Mask painting: the mask is a Uint8Array of class indices at the image's resolution; the overlay canvas
// shows it in the class colours. Brush, eraser (first class), flood fill (4-connected region of one class),
// undo, zoom; saving sends a PNG whose gray value is the class index.
(function () {
  const root = document.getElementById("paint");
  if (!root) return;
  const W = Number(root.dataset.width), H = Number(root.dataset.height);
  const classes = JSON.parse(root.dataset.classes);
  const token = document.querySelector('meta[name="console-token"]').content;
  const photo = document.getElementById("photo"), overlay = document.getElementById("overlay");
  const stage = document.getElementById("stage"), status = document.getElementById("save-status");
  const colours = {};
  classes.forEach(function (c) {
    colours[c.index] = [1, 3, 5].map(function (i) { return parseInt(c.hex.substr(i, 2), 16); });
  });
  const background = classes[0].index;
  let mask = new Uint8Array(W * H).fill(background);
  let current = classes.length > 1 ? classes[1].index : background;
  let tool = "brush", size = 4, zoom = Math.max(1, Math.floor(512 / Math.max(W, H))), opacity = 0.55;
  const undo = [];
  let last = null, dirty = false;
  [photo, overlay].forEach(function (c) { c.width = W; c.height = H; });
  const octx = overlay.getContext("2d");

  function render() {
    const img = octx.createImageData(W, H);
    for (let i = 0; i < W * H; i++) {
      const rgb = colours[mask[i]] || [255, 0, 255];
      img.data[4 * i] = rgb[0]; img.data[4 * i + 1] = rgb[1]; img.data[4 * i + 2] = rgb[2];
      img.data[4 * i + 3] = mask[i] === background ? 0 : Math.round(255 * opacity);
    }
    octx.putImageData(img, 0, 0);
  }

  function setZoom(z) {
    zoom = Math.max(1, Math.min(64, z));
    [photo, overlay].forEach(function (c) { c.style.width = W * zoom + "px"; c.style.height = H * zoom + "px"; });
    stage.style.height = Math.min(H * zoom + 2, window.innerHeight * 0.8) + "px";
    document.getElementById("zoom-value").textContent = zoom + "x";
  }

  function selectClass(index) {
    current = index;
    document.querySelectorAll("#classes button").forEach(function (b) {
      b.classList.toggle("active", Number(b.dataset.index) === index);
    });
  }

  function stamp(x, y, value) {
    const r = Math.max(0, (size - 1) / 2);
    for (let yy = Math.floor(y - r); yy <= Math.ceil(y + r); yy++) {
      for (let xx = Math.floor(x - r); xx <= Math.ceil(x + r); xx++) {
        if (xx < 0 || yy < 0 || xx >= W || yy >= H) continue;
        if ((xx - x) * (xx - x) + (yy - y) * (yy - y) <= r * r + 0.25) mask[yy * W + xx] = value;
      }
    }
  }

  function line(a, b, value) {  // stamps along the segment so fast strokes have no holes
    const steps = Math.max(1, Math.ceil(Math.hypot(b[0] - a[0], b[1] - a[1])));
    for (let s = 0; s <= steps; s++) stamp(a[0] + (b[0] - a[0]) * s / steps, a[1] + (b[1] - a[1]) * s / steps, value);
  }

  function fill(x, y, value) {
    const target = mask[y * W + x];
    if (target === value) return;
    const stack = [y * W + x];
    while (stack.length) {
      const p = stack.pop();
      if (mask[p] !== target) continue;
      mask[p] = value;
      const px = p % W;
      if (px > 0) stack.push(p - 1);
      if (px < W - 1) stack.push(p + 1);
      if (p >= W) stack.push(p - W);
      if (p < W * (H - 1)) stack.push(p + W);
    }
  }

  function pixel(e) {
    const box = overlay.getBoundingClientRect();
    return [Math.floor((e.clientX - box.left) / box.width * W), Math.floor((e.clientY - box.top) / box.height * H)];
  }

  function remember() { undo.push(mask.slice()); if (undo.length > 50) undo.shift(); dirty = true; }

  overlay.addEventListener("pointerdown", function (e) {
    const p = pixel(e);
    remember();
    if (tool === "fill") { fill(Math.min(W - 1, Math.max(0, p[0])), Math.min(H - 1, Math.max(0, p[1])), current); render(); return; }
    overlay.setPointerCapture(e.pointerId);
    last = p;
    stamp(p[0], p[1], tool === "eraser" ? background : current);
    render();
  });
  overlay.addEventListener("pointermove", function (e) {
    if (!last) return;
    const p = pixel(e);
    line(last, p, tool === "eraser" ? background : current);
    last = p;
    render();
  });
  ["pointerup", "pointercancel"].forEach(function (n) { overlay.addEventListener(n, function () { last = null; }); });

  function doUndo() { if (undo.length) { mask = undo.pop(); render(); } }

  function upload(blob) {
    status.textContent = "saving…";
    return fetch("/runs/" + root.dataset.rid + "/annotate/" + encodeURIComponent(root.dataset.imageId) + "/mask", {
      method: "POST", headers: { "Content-Type": "image/png", "X-Console-Token": token }, body: blob,
    }).then(function (r) { return r.json().then(function (b) { return [r.ok, b]; }); }).then(function (res) {
      if (!res[0]) { status.textContent = "Not saved: " + res[1].error; status.className = "error"; return false; }
      status.textContent = "Saved " + res[1].saved; status.className = "ok";
      document.getElementById("annotated-progress").textContent = res[1].annotated + " of " + res[1].total + " annotated";
      dirty = false;
      return true;
    });
  }

  function save() {
    const c = document.createElement("canvas");
    c.width = W; c.height = H;
    const ctx = c.getContext("2d"), img = ctx.createImageData(W, H);
    for (let i = 0; i < W * H; i++) {
      img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = mask[i];
      img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    c.toBlob(function (blob) { upload(blob); }, "image/png");
  }

  function loadMask(url) {  // an index PNG drawn to a canvas: the red channel is the class index
    const img = new Image();
    img.onload = function () {
      const c = document.createElement("canvas");
      c.width = W; c.height = H;
      const ctx = c.getContext("2d");
      ctx.drawImage(img, 0, 0);
      const data = ctx.getImageData(0, 0, W, H).data;
      for (let i = 0; i < W * H; i++) mask[i] = data[4 * i];
      render();
    };
    img.src = url + "?t=" + Date.now();
  }

  const picture = new Image();
  picture.onload = function () { photo.getContext("2d").drawImage(picture, 0, 0); };
  picture.src = root.dataset.image;
  if (root.dataset.mask) loadMask(root.dataset.mask); else render();

  document.querySelectorAll("#classes button").forEach(function (b) {
    b.addEventListener("click", function () { selectClass(Number(b.dataset.index)); if (tool === "eraser") setTool("brush"); });
  });
  function setTool(t) { tool = t; document.getElementById("tool").value = t; }
  document.getElementById("tool").addEventListener("change", function (e) { tool = e.target.value; });
  const sizeInput = document.getElementById("brush-size");
  sizeInput.addEventListener("input", function () { size = Number(sizeInput.value); document.getElementById("brush-size-value").textContent = size; });
  document.getElementById("opacity").addEventListener("input", function (e) { opacity = Number(e.target.value) / 100; render(); });
  document.getElementById("zoom-in").addEventListener("click", function () { setZoom(zoom * 2); });
  document.getElementById("zoom-out").addEventListener("click", function () { setZoom(Math.floor(zoom / 2)); });
  document.getElementById("undo").addEventListener("click", doUndo);
  document.getElementById("save").addEventListener("click", save);
  document.getElementById("upload").addEventListener("change", function (e) {
    const file = e.target.files[0];
    if (file) upload(file).then(function (ok) { if (ok) loadMask(root.dataset.image.replace("/images/", "/masks/")); });
  });
  stage.addEventListener("wheel", function (e) {
    if (!e.ctrlKey) return;
    e.preventDefault();
    setZoom(e.deltaY < 0 ? zoom * 2 : Math.floor(zoom / 2));
  }, { passive: false });
  document.addEventListener("keydown", function (e) {
    if (e.target.closest("input, select, textarea")) return;
    if ((e.ctrlKey || e.metaKey) && e.key === "z") { doUndo(); e.preventDefault(); return; }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const n = Number(e.key);
    if (n >= 1 && n <= classes.length) selectClass(classes[n - 1].index);
    else if (e.key === "b") setTool("brush");
    else if (e.key === "e") setTool("eraser");
    else if (e.key === "f") setTool("fill");
    else if (e.key === "s") save();
    else if (e.key === "+" || e.key === "=") setZoom(zoom * 2);
    else if (e.key === "-") setZoom(Math.floor(zoom / 2));
    else if (e.key === "n" && root.dataset.nextUnannotated) window.location.href = root.dataset.nextUnannotated;
    else if (e.key === "?") toggleShortcuts();
  });
  function toggleShortcuts() {
    const dialog = document.getElementById("shortcuts");
    if (dialog.open) dialog.close(); else dialog.showModal();
  }
  document.getElementById("shortcuts-button").addEventListener("click", toggleShortcuts);
  document.getElementById("shortcuts-close").addEventListener("click", toggleShortcuts);
  window.addEventListener("beforeunload", function (e) { if (dirty) { e.preventDefault(); e.returnValue = ""; } });
  selectClass(current);
  setZoom(zoom);
})();
