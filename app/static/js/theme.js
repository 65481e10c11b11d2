// Apply the light/dark theme chosen on the dashboard to every page, before it paints.
(function () {
  try {
    var theme = window.localStorage.getItem("stockdash-theme");
    if (theme === "dark" || theme === "light") {
      document.documentElement.setAttribute("data-bs-theme", theme);
    }
  } catch (e) { /* storage unavailable: keep the default theme */ }
})();
