/* The AI-generated label on the pictures the scripts add (garden/labels.py, docs/kiosk.md).
 * The words come from the server: the data-ai-label-en and -ko attributes of <body> (or of the
 * element given). The badge is what eyes see; the picture's alt text starts with the same words,
 * so screen readers hear them once (the badge is aria-hidden). */
(function () {
  "use strict";
  function words(root) {
    var data = (root || document.body).dataset;
    return { en: data.aiLabelEn || "AI-generated", ko: data.aiLabelKo || "AI 생성 그림" };
  }

  /* "AI-generated · AI 생성 그림": the start of a picture's alt text. */
  function text(root) {
    var w = words(root);
    return w.en + " · " + w.ko;
  }

  /* <span class="ai-label" aria-hidden="true"><span lang="en">…</span> · <span lang="ko">…</span></span> */
  function badge(root) {
    var w = words(root);
    var el = document.createElement("span");
    el.className = "ai-label";
    el.setAttribute("aria-hidden", "true");
    [["en", w.en], ["ko", w.ko]].forEach(function (pair, i) {
      if (i) { el.appendChild(document.createTextNode(" · ")); }
      var span = document.createElement("span");
      span.lang = pair[0];
      span.textContent = pair[1];
      el.appendChild(span);
    });
    return el;
  }

  window.AiLabel = { words: words, text: text, badge: badge };
})();
