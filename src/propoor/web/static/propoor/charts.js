/* Draws the dashboard's ECharts from the JSON the server put in #dashboard-charts.
 *
 * Each <div data-chart="name"> gets the option under that name. Options are plain
 * JSON; a series with a "unit" or "decimals" gets a tooltip formatter. A chart
 * whose element has data-href="…{code}…" opens that link when a bar is clicked,
 * with the bar's area code from the option's "codes" list. */
(function () {
  "use strict";

  function valueFormatter(unit, decimals) {
    return function (value) {
      if (value === null || value === undefined) return "—";
      var shown = decimals === undefined ? String(value) : Number(value).toFixed(decimals);
      return shown + unit;
    };
  }

  // Category labels get about a third of the chart's width (wrapped when longer).
  function fitLabels(chart, el, option) {
    var axes = [].concat(option.yAxis || []);
    var width = Math.round(Math.max(72, Math.min(200, el.clientWidth * 0.34)));
    var update = axes.map(function (axis) {
      return axis.type === "category" ? { axisLabel: { width: width } } : {};
    });
    if (update.length) chart.setOption({ yAxis: update });
  }

  function draw() {
    var source = document.getElementById("dashboard-charts");
    if (!source || typeof echarts === "undefined") return;
    var specs = JSON.parse(source.textContent);
    var lang = (document.documentElement.lang || "").toLowerCase();
    var locale = lang.indexOf("zh") === 0 ? "ZH" : "EN";
    var charts = [];

    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var spec = specs[el.dataset.chart];
      if (!spec) return;
      var option = spec.option;
      var codes = option.codes || [];
      delete option.codes;
      (option.series || []).forEach(function (series) {
        if (series.unit !== undefined || series.decimals !== undefined) {
          series.tooltip = {
            valueFormatter: valueFormatter(series.unit || "", series.decimals),
          };
          delete series.unit;
          delete series.decimals;
        }
      });
      el.style.height = spec.height + "px";
      var chart = echarts.init(el, null, { renderer: "canvas", locale: locale });
      chart.setOption(option);
      fitLabels(chart, el, option);
      var href = el.dataset.href;
      if (href && codes.length) {
        chart.on("click", function (params) {
          var code = codes[params.dataIndex];
          if (code) window.location.href = href.replace("{code}", code);
        });
        chart.getZr().setCursorStyle("pointer");
      }
      el.dataset.rendered = "true";
      charts.push({ chart: chart, el: el, option: option });
    });

    var pending = null;
    window.addEventListener("resize", function () {
      if (pending) window.cancelAnimationFrame(pending);
      pending = window.requestAnimationFrame(function () {
        charts.forEach(function (c) {
          c.chart.resize();
          fitLabels(c.chart, c.el, c.option);
        });
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
