// Globals the page has besides the DOM's, for the dashboard's type check.

import type uPlotChart from 'uplot'

declare global {
  /** uPlot, loaded by index.html from /vendor/uplot.js (a classic, deferred script) before the modules run. */
  var uPlot: typeof uPlotChart
}
