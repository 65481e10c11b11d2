// The light/dark theme of every page: applied from localStorage before the page paints, switched
// with the navbar's #theme-switch, remembered per browser. On a switch it also announces the new
// theme as a "stockdash:theme" event, which the dashboard passes to its chart
// (dashapp/assets/stockdash.js). Loaded in <head> on every page, so no page flashes.
(function () {
  "use strict";
  var KEY = "stockdash-theme";
  var root = document.documentElement;

  function apply(theme) {
    root.setAttribute("data-bs-theme", theme);
  }

  try {
    var saved = window.localStorage.getItem(KEY);
    if (saved === "dark" || saved === "light") { apply(saved); }
  } catch (e) { /* storage unavailable: keep the default theme */ }

  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.getElementById("theme-switch");
    if (!toggle) { return; }
    toggle.checked = root.getAttribute("data-bs-theme") === "dark";
    toggle.addEventListener("change", function () {
      var theme = toggle.checked ? "dark" : "light";
      apply(theme);
      try { window.localStorage.setItem(KEY, theme); } catch (e) { /* private mode */ }
      document.dispatchEvent(new CustomEvent("stockdash:theme", { detail: theme }));
    });
  });
})();
