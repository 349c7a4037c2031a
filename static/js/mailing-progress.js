// Keeps a mailing's progress up to date in the admin while it sends.
(function () {
  "use strict";
  var box = document.getElementById("mailing-progress");
  if (!box || !window.fetch) { return; }
  function field(name) { return box.querySelector('[data-field="' + name + '"]'); }
  function refresh() {
    fetch(box.getAttribute("data-progress-url"), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        ["sent", "failed", "skipped", "remaining", "total", "state"].forEach(function (name) {
          field(name).textContent = data[name];
        });
        field("bar").value = data.percent;
        if (data.state === "Sending") { setTimeout(refresh, 2000); }
      })
      .catch(function () { setTimeout(refresh, 5000); });
  }
  if (field("state").textContent.trim() === "Sending") { setTimeout(refresh, 2000); }
})();
