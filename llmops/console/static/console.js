// The console's small script: keeps the bearer token in this browser session, and refreshes an
// endpoint's live figures (its canary's per variant too). Every page works without it, except
// those two things.
"use strict";
(function () {
  var KEY = "llmopsConsoleToken";
  var COOKIE = "llmops_console_token";

  function setCookie(token) {
    var secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = COOKIE + "=" + encodeURIComponent(token) + "; Path=/console; SameSite=Strict" + secure;
  }

  // The cookie lets plain navigations carry the token; keep it in step with sessionStorage.
  var stored = sessionStorage.getItem(KEY);
  if (stored) { setCookie(stored); }

  var form = document.getElementById("signin");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var token = document.getElementById("token").value.trim();
      sessionStorage.setItem(KEY, token);
      setCookie(token);
      document.getElementById("signin-status").textContent = "Signed in for this browser session.";
    });
    document.getElementById("signout").addEventListener("click", function () {
      sessionStorage.removeItem(KEY);
      document.cookie = COOKIE + "=; Path=/console; Max-Age=0; SameSite=Strict";
      document.getElementById("signin-status").textContent = "Signed out.";
    });
  }

  window.llmopsAuthHeaders = function () {
    var token = sessionStorage.getItem(KEY);
    return token ? { "Authorization": "Bearer " + token } : {};
  };

  var figures = document.getElementById("figures");
  if (figures) {
    setInterval(function () {
      fetch(figures.dataset.src, { headers: window.llmopsAuthHeaders() })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (values) {
          if (!values) { return; }
          figures.querySelectorAll("[data-figure]").forEach(function (cell) {
            var value = values[cell.dataset.figure];
            if (value === null || value === undefined) { cell.textContent = "-"; return; }
            cell.textContent = cell.dataset.unit ? value.toFixed(1) + " " + cell.dataset.unit : String(value);
          });
          // a canary's table: each variant's requests, errors and mean latency
          Object.keys(values.variants || {}).forEach(function (variant) {
            var row = document.querySelector('tr[data-variant="' + variant + '"]');
            if (!row) { return; }
            row.querySelectorAll("[data-variant-figure]").forEach(function (cell) {
              var value = values.variants[variant][cell.dataset.variantFigure];
              if (value === null || value === undefined) { cell.textContent = "-"; return; }
              cell.textContent = cell.dataset.variantFigure === "meanMs" ? value.toFixed(1) + " ms" : String(value);
            });
          });
        })
        .catch(function () { /* the next tick tries again */ });
    }, 5000);
  }
})();
