// Gallery curation: focus a tile with the mouse, Tab or arrow keys, accept/reject with a/r (then move on).
// Each decision is sent at once; the tile shows it immediately and goes back if the server refuses.
// One tile is "focused": the blue outline and the keyboard focus always sit on the same tile.
// A/R decide the whole page after a confirmation; z (or ctrl+z, or the Undo button) takes back the last
// decisions, one key press or click at a time. The focused tile is shown large beside the grid with its manifest
// fields; an image made from another (a CycleGAN translation) has its source image beside it.
(function () {
  // The filter form's selects and checkbox apply at once (data-autosubmit; the CSP forbids inline handlers).
  document.querySelectorAll("#gallery-filters [data-autosubmit]").forEach(function (field) {
    field.addEventListener("change", function () { field.form.submit(); });
  });
  const grid = document.getElementById("gallery");
  if (!grid) return;
  const token = document.querySelector('meta[name="console-token"]').content;
  const tiles = Array.from(grid.querySelectorAll(".tile"));
  const details = document.getElementById("details");
  const undoButton = document.getElementById("undo");
  const MAX_UNDO = 100;
  let focus = 0;
  let queue = Promise.resolve();
  const history = [];  // [{targets, before}] of the decisions sent, newest last

  function columns() {
    if (tiles.length < 2) return 1;
    const top = tiles[0].offsetTop;
    const n = tiles.findIndex(function (t) { return t.offsetTop !== top; });
    return n < 0 ? tiles.length : n;
  }

  // keyboard: move the browser's focus along (unless it already is inside the tile, on one of its buttons)
  function setFocus(i, keyboard) {
    if (!tiles.length) return;
    focus = Math.max(0, Math.min(tiles.length - 1, i));
    tiles.forEach(function (t, j) {
      t.classList.toggle("focus", j === focus);
      t.tabIndex = j === focus ? 0 : -1;  // Tab into the gallery lands on the focused tile
    });
    const tile = tiles[focus];
    if (keyboard !== false && !tile.contains(document.activeElement)) tile.focus({ preventScroll: true });
    tile.scrollIntoView({ block: "nearest" });
    details.textContent = "";  // the preview shows the fields; this line keeps the status of the last action
    preview(tile, JSON.parse(tile.dataset.meta));
  }

  // The preview panel: built with textContent and properties only (manifest fields are data, never markup).
  function preview(tile, meta) {
    const image = document.getElementById("preview-image");
    if (!image) return;
    const thumb = tile.querySelector("img");
    if (thumb) {
      image.src = thumb.getAttribute("src");
      image.alt = thumb.alt;
    } else {
      image.removeAttribute("src");
    }
    image.hidden = !thumb;
    document.getElementById("preview-caption").textContent = tile.querySelector(".meta").textContent +
      (tile.dataset.sourceName !== undefined ? " · translation" : "");
    const source = document.getElementById("preview-source");
    const sourceImage = document.getElementById("preview-source-image");
    source.hidden = tile.dataset.sourceName === undefined;
    document.getElementById("preview-source-name").textContent = tile.dataset.sourceName || "";
    // a source outside the run folders and the run's inputs is named, not shown (the server does not serve it)
    document.getElementById("preview-source-missing").hidden = !!tile.dataset.source;
    sourceImage.hidden = !tile.dataset.source;
    if (tile.dataset.source) sourceImage.src = tile.dataset.source; else sourceImage.removeAttribute("src");
    const table = document.getElementById("preview-fields");
    table.replaceChildren();
    Object.keys(meta).forEach(function (k) {
      const row = table.insertRow(), value = meta[k];
      row.insertCell().textContent = k;
      row.insertCell().textContent = typeof value === "string" ? value : JSON.stringify(value);
    });
    document.getElementById("preview").dataset.id = tile.dataset.id;  // which tile it shows (tests read it)
  }

  function show(tile, decision) {
    tile.classList.remove("accept", "reject");
    if (decision) tile.classList.add(decision);
    tile.dataset.decision = decision || "";
    tile.querySelector(".badge").textContent = decision || "";
  }

  function showUndo() {
    if (!undoButton) return;
    undoButton.disabled = !history.length;
    undoButton.textContent = history.length ? "Undo " + history[history.length - 1].targets.length + " decision(s) (z)" : "Undo (z)";
  }

  // decisions: one per target (a string, or null for undecided); undoing sends the earlier ones back unrecorded
  function send(targets, decisions, undoing) {
    const changes = {}, before = targets.map(function (t) { return t.dataset.decision; });
    targets.forEach(function (t, i) { changes[t.dataset.id] = decisions[i] || null; show(t, decisions[i]); });
    const entry = { targets: targets, before: before };
    if (!undoing) {
      history.push(entry);
      if (history.length > MAX_UNDO) history.shift();
      showUndo();
    }
    // One request at a time, in key-press order: the counts shown are those of the last decision.
    const request = queue.then(function () {
      return fetch("/runs/" + grid.dataset.rid + "/decisions", {
        method: "POST", headers: { "Content-Type": "application/json", "X-Console-Token": token },
        body: JSON.stringify({ changes: changes }),
      });
    });
    queue = request.catch(function () {});  // a failed request must not stop the ones after it
    request.then(function (r) { return r.json().then(function (body) { return [r.ok, body]; }); })
      .then(function (res) {
        if (!res[0]) throw new Error(res[1].error || "refused");
        ["accept", "reject", "undecided"].forEach(function (k) {
          document.querySelector('[data-count="' + k + '"]').textContent = res[1][k];
        });
        grid.dataset.saved = String(Number(grid.dataset.saved || 0) + 1);  // lets tests wait for the write
      })
      .catch(function (err) {
        targets.forEach(function (t, i) { show(t, before[i]); });
        const at = history.indexOf(entry);  // nothing to undo for decisions that were not saved
        if (at >= 0) { history.splice(at, 1); showUndo(); }
        details.textContent = "Not saved: " + err.message;
      });
  }

  function decide(targets, decision) {
    send(targets, targets.map(function () { return decision; }), false);
  }

  function undo() {
    const last = history.pop();
    showUndo();
    if (!last) { details.textContent = "Nothing to undo."; return; }
    send(last.targets, last.before, true);
    setFocus(tiles.indexOf(last.targets[0]));
    details.textContent = "Undone: " + last.targets.length + " decision(s).";
  }

  function decidePage(decision) {
    const verb = decision === "accept" ? "Accept" : "Reject";
    if (!window.confirm(verb + " all " + tiles.length + " images on this page? (z undoes it)")) return;
    decide(tiles, decision);
  }

  if (undoButton) undoButton.addEventListener("click", undo);

  // Tab (or a click) onto a tile or one of its buttons makes that tile the focused one.
  grid.addEventListener("focusin", function (e) {
    const tile = e.target.closest(".tile");
    if (tile && tiles.indexOf(tile) !== focus) setFocus(tiles.indexOf(tile), false);
  });

  grid.addEventListener("click", function (e) {
    const tile = e.target.closest(".tile");
    if (!tile) return;
    setFocus(tiles.indexOf(tile));
    const act = e.target.closest("button");
    if (act) decide([tile], tile.dataset.decision === act.dataset.act ? null : act.dataset.act);
  });

  document.addEventListener("keydown", function (e) {
    if (e.target.closest("input, select, textarea")) return;
    if ((e.ctrlKey || e.metaKey) && e.key === "z" && !e.altKey) { undo(); e.preventDefault(); return; }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "z") { undo(); e.preventDefault(); return; }
    const go = { ArrowRight: 1, l: 1, ArrowLeft: -1, h: -1 }[e.key];
    if (go) { setFocus(focus + go); e.preventDefault(); return; }
    if (e.key === "ArrowDown" || e.key === "j") { setFocus(focus + columns()); e.preventDefault(); return; }
    if (e.key === "ArrowUp" || e.key === "k") { setFocus(focus - columns()); e.preventDefault(); return; }
    const decision = { a: "accept", r: "reject", u: null }[e.key];
    if (decision !== undefined && tiles.length) { decide([tiles[focus]], decision); setFocus(focus + 1); e.preventDefault(); return; }
    if ((e.key === "A" || e.key === "R") && tiles.length) { decidePage(e.key === "A" ? "accept" : "reject"); e.preventDefault(); return; }
    const link = { n: "next-page", p: "prev-page" }[e.key];
    if (link && document.getElementById(link)) window.location = document.getElementById(link).href;
  });

  setFocus(0, false);  // outline the first tile without taking the page's focus
  showUndo();
})();
