// Students and staff across census snapshots (data from a json_script block; CSP: no inline JS).
document.addEventListener("DOMContentLoaded", function () {
  var el = document.getElementById("trend-chart");
  var source = document.getElementById("trend-data");
  if (!el || !source || !window.echarts) { return; }
  var data = JSON.parse(source.textContent);
  if (data.labels.length === 0) { return; }
  var chart = echarts.init(el, null, { renderer: "svg" });
  chart.setOption({
    grid: { left: 72, right: 72, top: 36, bottom: 48 },
    tooltip: { trigger: "axis" },
    legend: { data: ["在校生", "教职工"] },
    xAxis: { type: "category", data: data.labels },
    yAxis: [{ type: "value", name: "在校生" }, { type: "value", name: "教职工" }],
    series: [
      { name: "在校生", type: "line", data: data.students },
      { name: "教职工", type: "line", yAxisIndex: 1, data: data.staff }
    ],
    animation: false
  });
  window.addEventListener("resize", function () { chart.resize(); });
});
