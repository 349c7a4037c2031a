// Shows, above the letter, only the recipients a signer in the chosen country
// writes to. Without it the page lists every recipient with a note of the
// countries some are for, and the confirm page names the signer's own.
(function () {
  "use strict";
  var country = document.getElementById("id_country");
  var list = document.querySelector("[data-recipients]");
  if (!country || !list) { return; }
  var tied = list.querySelectorAll("[data-countries]");
  function show() {
    for (var index = 0; index < tied.length; index++) {
      var codes = tied[index].getAttribute("data-countries").split(",");
      tied[index].hidden = codes.indexOf(country.value) === -1;
    }
  }
  country.addEventListener("change", show);
  show();
})();
