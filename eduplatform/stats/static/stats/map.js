// The province map: each city coloured by the chosen indicator; a click drills down to that city's
// statistics. Data from a json_script block and the city outlines from a static file (CSP: no inline JS).
document.addEventListener("DOMContentLoaded", function () {
  var el = document.getElementById("province-map");
  var data = JSON.parse(document.getElementById("map-data").textContent);
  if (!el || !window.echarts) { return; }
  fetch(el.dataset.geojson).then(function (r) { return r.json(); }).then(function (geo) {
    echarts.registerMap("guangdong", geo);
    var chart = echarts.init(el, null, { renderer: "svg" });
    var values = data.rows.map(function (r) { return r.value; }).filter(function (v) { return v !== null; });
    chart.setOption({
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          var v = p.data && p.data.value !== null && p.data.value !== undefined ? p.data.value.toLocaleString("zh-CN") + data.unit : "—";
          return p.name + "<br>" + data.label + "：" + v;
        }
      },
      visualMap: {
        min: values.length ? Math.min.apply(null, values) : 0, max: values.length ? Math.max.apply(null, values) : 1,
        left: 8, bottom: 8, text: ["高", "低"], calculable: true, inRange: { color: ["#e8f1fb", "#4299e1", "#1a4480"] }
      },
      series: [{
        type: "map", map: "guangdong", roam: false, selectedMode: false,
        label: { show: true, fontSize: 10 }, emphasis: { label: { show: true } },
        data: data.rows.map(function (r) { return { name: r.name, value: r.value, code: r.code }; })
      }],
      animation: false
    });
    chart.on("click", function (p) {
      if (p.data && p.data.code) { window.location.href = el.dataset.drill + "?region=" + p.data.code; }
    });
    window.addEventListener("resize", function () { chart.resize(); });
    el.dataset.ready = "yes";
  });
});
