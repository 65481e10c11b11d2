// Live character counters: a <textarea data-counter="ID"> keeps the element #ID showing its
// length (the server checks the limit itself; this only shows it while typing).
document.querySelectorAll("textarea[data-counter]").forEach(function (area) {
  var counter = document.getElementById(area.dataset.counter);
  if (!counter) return;
  var update = function () { counter.textContent = area.value.replace(/\r\n/g, "\n").length; };
  area.addEventListener("input", update);
  update();
});
