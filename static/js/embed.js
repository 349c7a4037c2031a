// For the embedding page (optional): sizes each petition frame
// (iframe[data-petition-embed]) to its content, from the height the frame
// reports. Only messages from the frame's own window and origin are read.
(function () {
  "use strict";
  window.addEventListener("message", function (event) {
    var data = event.data;
    if (!data || typeof data.petitionEmbedHeight !== "number") { return; }
    var frames = document.querySelectorAll("iframe[data-petition-embed]");
    for (var i = 0; i < frames.length; i++) {
      var frame = frames[i];
      if (frame.contentWindow === event.source && new URL(frame.src).origin === event.origin) {
        frame.style.height = Math.ceil(data.petitionEmbedHeight) + "px";
      }
    }
  });
})();
