// Job log page: keep the log scrolled to its end as new lines arrive (a file, not inline: the CSP forbids inline script).
document.body.addEventListener("htmx:afterSwap", function (e) {
  if (e.detail.target.id === "log") {
    const pre = e.detail.target.querySelector("pre");
    if (pre) pre.scrollTop = pre.scrollHeight;
  }
});
