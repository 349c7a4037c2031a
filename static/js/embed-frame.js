// Inside the embed frame: tell the embedding page how tall the content is,
// so its copy of embed.js can size the frame. The frame works without it.
(function () {
  "use strict";
  if (window.parent === window) { return; }
  var last = 0;
  function report() {
    var height = document.documentElement.scrollHeight;
    if (height !== last) {
      last = height;
      window.parent.postMessage({ petitionEmbedHeight: height }, "*");
    }
  }
  report();
  window.addEventListener("load", report);
  window.addEventListener("resize", report);
  if (window.ResizeObserver) { new ResizeObserver(report).observe(document.body); }
})();
