// Relay's only script. The Content-Security-Policy allows no inline script, handler or style attribute,
// so behaviour is asked for by data attributes and attached here:
//   data-progress-url  a progress bar refreshed every second from that JSON endpoint until the work is done,
//                      then the page reloads;
//   data-percent       a progress bar's fill drawn at that width (0–100);
//   data-autosubmit    a select that submits its form when changed (the language switch);
//   data-confirm       a form that asks this question before it submits;
//   data-print         a button that prints the page.
(function () {
  function setWidth(fill, percent) {
    var n = Number(percent);
    if (fill && isFinite(n)) { fill.style.width = Math.max(0, Math.min(100, n)) + "%"; }
  }

  function poll(el) {
    var url = el.getAttribute("data-progress-url");
    var bar = el.querySelector(".bar-fill");
    var label = el.querySelector(".bar-label");
    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (p) {
          var done = p.finished === true || p.running === false;
          var percent = p.percent === null || p.percent === undefined ? null : p.percent;
          if (percent !== null) { setWidth(bar, percent); }
          if (label) {
            label.textContent = percent !== null ? percent + "%" : (p.seen !== undefined ? p.seen + " …" : "…");
          }
          if (done) { window.location.reload(); } else { setTimeout(tick, 1000); }
        })
        .catch(function () { setTimeout(tick, 3000); });
    }
    tick();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-percent]").forEach(function (el) {
      setWidth(el, el.getAttribute("data-percent"));
    });
    document.querySelectorAll("[data-progress-url]").forEach(poll);
    document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () { if (el.form) { el.form.submit(); } });
    });
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
    document.querySelectorAll("[data-print]").forEach(function (el) {
      el.addEventListener("click", function () { window.print(); });
    });
  });
})();
