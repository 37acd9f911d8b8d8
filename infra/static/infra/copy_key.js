/* The client key's copy button (admin/infra/clientkey/issued.html): copies the secret to the
 * clipboard and says so; where the clipboard API is refused (plain http), selects the text so that
 * Ctrl+C copies it. No inline script: the site's Content-Security-Policy allows none. */
(function () {
  "use strict";
  var button = document.getElementById("client-key-copy");
  var field = document.getElementById("client-key-secret");
  var done = document.getElementById("client-key-copied");
  if (!button || !field) { return; }
  function copied() { if (done) { done.hidden = false; } }
  button.hidden = false;
  button.addEventListener("click", function () {
    field.focus();
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(copied, function () {});
    } else if (document.execCommand && document.execCommand("copy")) {
      copied();
    }
  });
})();
