// Refreshes the signature count while the page is open. The page works
// without it: the count in the HTML is at most a minute old.
(function () {
  "use strict";
  var box = document.querySelector("[data-count-url]");
  if (!box || !window.fetch) { return; }
  var number = box.querySelector("[data-count]");
  var bar = box.querySelector("[data-progress]");
  // Written as the page's language writes numbers, as the server wrote it.
  var locale = box.getAttribute("data-number-locale") || document.documentElement.lang || undefined;
  function refresh() {
    fetch(box.getAttribute("data-count-url"), { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data || !number) { return; }
        number.textContent = data.confirmed.toLocaleString(locale);
        if (bar) { bar.value = data.confirmed; bar.max = data.goal; }
      })
      .catch(function () {});
  }
  setInterval(refresh, 30000);
})();
