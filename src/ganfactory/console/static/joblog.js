// Job log page: keep the log scrolled to its end after each refresh (htmx swaps #log while the job runs).
(function () {
  document.body.addEventListener("htmx:afterSwap", function (e) {
    if (e.detail.target.id !== "log") return;
    const pre = e.detail.target.querySelector("pre");
    if (pre) pre.scrollTop = pre.scrollHeight;
  });
})();
