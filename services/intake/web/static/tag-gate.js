// The tag gate: a page's third-party tags stay inert (<script type="text/plain" data-ccpa-flow="NAME"
// data-src="URL">) until this script knows the flow is allowed for this browser. The answer comes inlined by the
// site's server (<script type="application/json" id="ccpa-tag-decisions">) or from intake's decision endpoint
// (data-endpoint), asked with the page's flows and its visitor id (data-device-id) in the body. Sale and sharing
// tags never load with Global Privacy Control on or an opt-out on record; when the endpoint does not answer, only
// tags the page declares as a service provider's or contractor's (data-ccpa-relation) load: fail closed.
(function () {
  "use strict";
  var gate = document.currentScript;
  var tags = Array.prototype.slice.call(document.querySelectorAll('script[type="text/plain"][data-ccpa-flow]'));
  var gpc = navigator.globalPrivacyControl === true;
  var CONTRACTED = { service_provider: true, contractor: true };

  function load(tag) {
    var script = document.createElement("script");
    script.src = tag.getAttribute("data-src");
    script.async = true;
    script.setAttribute("data-ccpa-loaded", tag.getAttribute("data-ccpa-flow"));
    tag.parentNode.insertBefore(script, tag.nextSibling);
  }

  function showHonoured(words) {
    var target = document.getElementById(gate.getAttribute("data-honoured") || "ccpa-gpc-status");
    if (target && words) {
      if (!target.textContent.trim()) {
        target.textContent = words;
      }
      target.hidden = false;
    }
  }

  function apply(answer) {
    var allowed = {};
    (answer.decisions || []).forEach(function (decision) {
      allowed[decision.flow] = decision.allowed === true;
    });
    tags.forEach(function (tag) {
      if (allowed[tag.getAttribute("data-ccpa-flow")] === true) {
        load(tag);
      }
    });
    showHonoured(answer.honoured);
  }

  function failClosed() {
    tags.forEach(function (tag) {
      if (CONTRACTED[tag.getAttribute("data-ccpa-relation")] === true) {
        load(tag);
      }
    });
  }

  var inlined = document.getElementById("ccpa-tag-decisions");
  if (inlined) {
    try {
      apply(JSON.parse(inlined.textContent));
      return;
    } catch (ignored) {
      // An unreadable inline answer: ask the endpoint instead.
    }
  }
  var endpoint = gate.getAttribute("data-endpoint");
  var flows = tags.map(function (tag) { return tag.getAttribute("data-ccpa-flow"); });
  if (!endpoint || flows.length === 0) {
    failClosed();
    return;
  }
  var body = JSON.stringify({ flows: flows.filter(function (f, i) { return flows.indexOf(f) === i; }),
                              device_id: gate.getAttribute("data-device-id"), gpc: gpc });
  var controller = typeof AbortController === "function" ? new AbortController() : null;
  var timer = controller ? setTimeout(function () { controller.abort(); }, 3000) : null;
  fetch(endpoint, { method: "POST", body: body, credentials: "omit", headers: { "Content-Type": "application/json" },
                    signal: controller ? controller.signal : undefined })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("tag gate: the decision endpoint answered " + response.status);
      }
      return response.json();
    })
    .then(apply, failClosed)
    .finally(function () {
      if (timer) {
        clearTimeout(timer);
      }
    });
})();
