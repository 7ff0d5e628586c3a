// Gallery curation: focus a tile with the mouse or arrow keys, accept/reject with a/r (then move on).
// Each decision is sent at once; the tile shows it immediately and goes back if the server refuses.
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
  let focus = 0;
  let queue = Promise.resolve();

  function columns() {
    if (tiles.length < 2) return 1;
    const top = tiles[0].offsetTop;
    const n = tiles.findIndex(function (t) { return t.offsetTop !== top; });
    return n < 0 ? tiles.length : n;
  }

  function setFocus(i) {
    if (!tiles.length) return;
    focus = Math.max(0, Math.min(tiles.length - 1, i));
    tiles.forEach(function (t, j) { t.classList.toggle("focus", j === focus); });
    const tile = tiles[focus];
    tile.scrollIntoView({ block: "nearest" });
    const meta = JSON.parse(tile.dataset.meta);
    details.textContent = Object.keys(meta).map(function (k) { return k + ": " + JSON.stringify(meta[k]); }).join("  ·  ");
  }

  function show(tile, decision) {
    tile.classList.remove("accept", "reject");
    if (decision) tile.classList.add(decision);
    tile.dataset.decision = decision || "";
    tile.querySelector(".badge").textContent = decision || "";
  }

  function send(targets, decision) {
    const changes = {}, before = targets.map(function (t) { return t.dataset.decision; });
    targets.forEach(function (t) { changes[t.dataset.id] = decision; show(t, decision); });
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
        details.textContent = "Not saved: " + err.message;
      });
  }

  grid.addEventListener("click", function (e) {
    const tile = e.target.closest(".tile");
    if (!tile) return;
    setFocus(tiles.indexOf(tile));
    const act = e.target.closest("button");
    if (act) send([tile], tile.dataset.decision === act.dataset.act ? null : act.dataset.act);
  });

  document.addEventListener("keydown", function (e) {
    if (e.target.closest("input, select, textarea") || e.ctrlKey || e.metaKey || e.altKey) return;
    const go = { ArrowRight: 1, l: 1, ArrowLeft: -1, h: -1 }[e.key];
    if (go) { setFocus(focus + go); e.preventDefault(); return; }
    if (e.key === "ArrowDown" || e.key === "j") { setFocus(focus + columns()); e.preventDefault(); return; }
    if (e.key === "ArrowUp" || e.key === "k") { setFocus(focus - columns()); e.preventDefault(); return; }
    const decision = { a: "accept", r: "reject", u: null }[e.key];
    if (decision !== undefined && tiles.length) { send([tiles[focus]], decision); setFocus(focus + 1); e.preventDefault(); return; }
    if (e.key === "A" || e.key === "R") { send(tiles, e.key === "A" ? "accept" : "reject"); return; }
    const link = { n: "next-page", p: "prev-page" }[e.key];
    if (link && document.getElementById(link)) window.location = document.getElementById(link).href;
  });

  setFocus(0);
})();
