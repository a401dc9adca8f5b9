// Motcua pages: a little JavaScript where it helps; every page also works without it.
(function () {
  "use strict";
  // A form is sent once: the button is disabled after the first click (the server also
  // refuses a repeated dossier creation by its idempotency key).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
    var buttons = form.querySelectorAll("button[type=submit]");
    window.setTimeout(function () {
      buttons.forEach(function (b) { b.disabled = true; });
    }, 0);
  });

  // Progress: an element with data-poll="URL" is refreshed from that URL (an HTML fragment)
  // every few seconds until the fragment says it is done (data-done on its root).
  function poll(el) {
    var url = el.dataset.poll;
    var every = parseInt(el.dataset.every || "2000", 10);
    fetch(url, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        el.innerHTML = html;
        var root = el.firstElementChild;
        if (root && root.dataset.done === "1") {
          if (el.dataset.reloadWhenDone) { window.location.reload(); }
          return;
        }
        window.setTimeout(function () { poll(el); }, every);
      })
      .catch(function () { window.setTimeout(function () { poll(el); }, every * 2); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll]").forEach(function (el) {
      window.setTimeout(function () { poll(el); }, 500);
    });
    // "Select all" checkboxes for batch signing and sealing.
    document.querySelectorAll("input[data-select-all]").forEach(function (box) {
      box.addEventListener("change", function () {
        document.querySelectorAll("input[name='" + box.dataset.selectAll + "']")
          .forEach(function (b) { b.checked = box.checked; });
      });
    });
  });
})();
