// Your Privacy Choices: when the browser has Global Privacy Control on but the Sec-GPC header did not reach us with
// the page (a proxy may strip it), show the honoured message and record the signal for this browser. The page says
// it without this script whenever the header arrives.
(function () {
  "use strict";
  if (navigator.globalPrivacyControl !== true) {
    return;
  }
  var note = document.getElementById("gpc-script-note");
  var form = document.getElementById("gpc-record");
  if (!note || !form) {
    return;
  }
  var body = new URLSearchParams(new FormData(form));
  fetch(form.action, { method: "POST", body: body, credentials: "same-origin" }).then(function (answer) {
    if (answer.ok) {
      note.hidden = false;
    }
  });
})();
