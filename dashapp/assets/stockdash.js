// Browser-side helpers for the dashboard. Served from this origin, so the CSP allows them.
(function () {
  "use strict";
  var KEY = "stockdash-theme";

  function apply(theme) {
    document.documentElement.setAttribute("data-bs-theme", theme);
  }

  try {
    var saved = window.localStorage.getItem(KEY);
    if (saved === "dark" || saved === "light") { apply(saved); }
  } catch (e) { /* storage unavailable: keep the default theme */ }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    stockdash: {
      // Output("theme", "data") <- Input("theme-switch", "value"): remembered per browser.
      applyTheme: function (dark) {
        var theme = dark ? "dark" : "light";
        apply(theme);
        try { window.localStorage.setItem(KEY, theme); } catch (e) { /* private mode */ }
        return theme;
      },
    },
  });
})();
