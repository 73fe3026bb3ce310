// The console's small script: keeps the bearer token in this browser session, and refreshes an
// endpoint's live figures (its canary's per variant too). Every page works without it, except
// those two things.
"use strict";
(function () {
  var KEY = "llmopsConsoleToken";

  // Plain navigations cannot carry the token: the proxy answers a sign-in with a session cookie
  // for /console pages that holds a key derived from it (HttpOnly: never the token itself, which
  // a browser would send to every port of this host).
  var form = document.getElementById("signin");
  if (form) {
    var status = document.getElementById("signin-status");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var token = document.getElementById("token").value.trim();
      fetch("/console/signin", { method: "POST", headers: { "Authorization": "Bearer " + token } })
        .then(function (response) {
          if (response.ok) {
            sessionStorage.setItem(KEY, token);
            status.textContent = "Signed in for this browser session.";
          } else {
            status.textContent = "This proxy refused that token.";
          }
        })
        .catch(function () { status.textContent = "The proxy could not be reached."; });
    });
    document.getElementById("signout").addEventListener("click", function () {
      sessionStorage.removeItem(KEY);
      fetch("/console/signout", { method: "POST" }).then(function () {
        status.textContent = "Signed out.";
      });
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
