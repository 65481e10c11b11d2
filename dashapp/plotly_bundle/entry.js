// stockdash's partial plotly.js (see build.sh): exactly the trace types the dashboard draws.
var Plotly = require('plotly.js/lib/core');
Plotly.register([
  require('plotly.js/lib/scatter'),
  require('plotly.js/lib/bar'),
  require('plotly.js/lib/candlestick'),
  require('plotly.js/lib/ohlc'),
]);
window.Plotly = Plotly;
