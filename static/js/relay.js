// Progress bars: an element with data-progress-url is refreshed every second
// from that JSON endpoint until the work is done, then the page reloads.
(function () {
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
          if (bar && percent !== null) { bar.style.width = percent + "%"; }
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
    document.querySelectorAll("[data-progress-url]").forEach(poll);
  });
})();
