#!/usr/bin/env bash
# Rebuild dashapp/assets/plotly-stockdash.min.js (scatter, bar, candlestick, ohlc only).
# Keep plotly.js at the version the installed `plotly` Python package was made for
# (python -c 'from plotly.offline import get_plotlyjs_version as v; print(v())').
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$here/entry.js" "$work/"
cd "$work"
npm install --no-audit --no-fund --ignore-scripts >/dev/null
# plotly.js pulls in a map stylesheet for trace types we do not register; the CSS output is
# dropped, the JS never loads it.
npx esbuild entry.js --bundle --minify --format=iife --target=es2017 --define:global=window \
  --outfile=plotly-stockdash.min.js >/dev/null
cp plotly-stockdash.min.js "$here/../assets/plotly-stockdash.min.js"
echo "wrote dashapp/assets/plotly-stockdash.min.js ($(wc -c < plotly-stockdash.min.js) bytes)"
