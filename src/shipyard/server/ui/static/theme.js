// Applies the saved theme before the page paints (no flash); the toggle lives in app.js.
(function () {
  try {
    var t = localStorage.getItem("shipyard-theme");
    if (t === "light" || t === "dark") document.documentElement.setAttribute("data-theme", t);
  } catch (e) { /* storage disabled: follow the system */ }
})();
