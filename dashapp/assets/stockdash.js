// The dashboard's side of the theme: the switch is the navbar's (app/static/js/theme.js), and
// the chart follows it through the Dash store that `readTheme` fills. Served from this origin,
// so the CSP allows it.
(function () {
  "use strict";
  var store = null; // the id of that store, as Dash tells readTheme (no id is written twice)

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    stockdash: {
      // Output(ids.THEME, "data") <- Input(ids.URL, "pathname"): once, when the page loads.
      readTheme: function () {
        store = window.dash_clientside.callback_context.outputs_list.id;
        return document.documentElement.getAttribute("data-bs-theme") === "dark" ? "dark" : "light";
      },
    },
  });

  // Every later switch of the navbar's theme goes to the store, which restyles the figure.
  document.addEventListener("stockdash:theme", function (event) {
    if (store !== null) {
      window.dash_clientside.set_props(store, { data: event.detail });
    }
  });
})();
