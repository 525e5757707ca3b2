// The progress map: each city coloured by its 建库进度 (0–100 %); on a city's page that city is
// highlighted. A click drills down to the city. Data from a json_script block, outlines from the
// statistics map's static file (CSP: no inline JS).
document.addEventListener("DOMContentLoaded", function () {
  var el = document.getElementById("progress-map");
  var source = document.getElementById("map-data");
  if (!el || !source || !window.echarts) { return; }
  var data = JSON.parse(source.textContent);
  fetch(el.dataset.geojson).then(function (r) { return r.json(); }).then(function (geo) {
    echarts.registerMap("guangdong", geo);
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          var v = p.data && p.data.value !== null && p.data.value !== undefined ? p.data.value + data.unit : "—";
          return p.name + "<br>" + data.label + "：" + v;
        }
      },
      visualMap: {
        min: 0, max: 100, left: 8, bottom: 8, text: ["100%", "0%"], calculable: false,
        inRange: { color: ["#fbe9e7", "#f6c344", "#2fb344"] }
      },
      series: [{
        type: "map", map: "guangdong", roam: false, selectedMode: false,
        itemStyle: { areaColor: "#e9ecef" },
        label: { show: true, fontSize: 10 }, emphasis: { label: { show: true } },
        data: data.rows.filter(function (r) { return r.value !== null; }).map(function (r) {
          var item = { name: r.name, value: r.value, code: r.code };
          if (data.highlight && r.name === data.highlight) { item.itemStyle = { borderColor: "#d63939", borderWidth: 3 }; }
          return item;
        })
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
