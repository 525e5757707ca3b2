// The pivot's bar chart: one bar group per table row, one series per column (data from json_script).
document.addEventListener("DOMContentLoaded", function () {
  var el = document.getElementById("pivot-chart");
  var source = document.getElementById("pivot-data");
  if (!el || !source || !window.echarts) { return; }
  var data = JSON.parse(source.textContent);
  if (data.categories.length === 0) { return; }
  var chart = echarts.init(el, null, { renderer: "svg" });
  var stacked = data.series.length > 1;
  chart.setOption({
    grid: { left: 72, right: 24, top: 48, bottom: 72, containLabel: true },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    legend: { type: "scroll", data: data.series.map(function (s) { return s.name; }) },
    xAxis: { type: "category", data: data.categories, axisLabel: { interval: 0, rotate: data.categories.length > 8 ? 30 : 0 } },
    yAxis: { type: "value", name: data.title },
    series: data.series.map(function (s) {
      return { name: s.name, type: "bar", stack: stacked ? "total" : undefined, barMaxWidth: 56, data: s.data };
    }),
    animation: false
  });
  el.dataset.ready = "yes";
  window.addEventListener("resize", function () { chart.resize(); });
});
