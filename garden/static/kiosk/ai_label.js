/* The AI-generated label on the pictures the scripts add (garden/labels.py, docs/kiosk.md).
 * The words come from the server: the data-ai-label-<language> attributes of <body> (or of the
 * element given), in the page's language (<html lang>) and, when the installation shows a second
 * language, that one after it. The badge is what eyes see; the picture's alt text starts with the
 * same words, so screen readers hear them once (the badge is aria-hidden). */
(function () {
  "use strict";
  var DEFAULTS = { en: "AI-generated", ko: "AI 생성 그림", ja: "AI生成" };

  function label(data, language) {
    var key = "aiLabel" + language.charAt(0).toUpperCase() + language.slice(1);
    return data[key] || DEFAULTS[language] || DEFAULTS.en;
  }

  /* [[language, words], …]: the page's language first, then the second language if any. */
  function words(root) {
    var data = (root || document.body).dataset;
    var first = (document.documentElement.lang || "en").split("-")[0];
    var out = [[first, label(data, first)]];
    var block = document.getElementById("second-language-catalog");
    if (block) {
      var second = JSON.parse(block.textContent).language;
      if (second && second !== first) { out.push([second, label(data, second)]); }
    }
    return out;
  }

  /* "AI-generated" (or "AI-generated · AI 생성 그림" with a second language): the start of alt text. */
  function text(root) {
    return words(root).map(function (pair) { return pair[1]; }).join(" · ");
  }

  /* <span class="ai-label" aria-hidden="true">AI-generated[ · <span lang="ko">AI 생성 그림</span>]</span> */
  function badge(root) {
    var el = document.createElement("span");
    el.className = "ai-label";
    el.setAttribute("aria-hidden", "true");
    words(root).forEach(function (pair, i) {
      if (i) {
        el.appendChild(document.createTextNode(" · "));
        var span = document.createElement("span");
        span.lang = pair[0];
        span.textContent = pair[1];
        el.appendChild(span);
      } else {
        el.appendChild(document.createTextNode(pair[1]));
      }
    });
    return el;
  }

  window.AiLabel = { words: words, text: text, badge: badge };
})();
