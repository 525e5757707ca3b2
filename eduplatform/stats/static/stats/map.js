// The indicator map (stats/map.html): regions coloured by the chosen indicator, a click drilling down
// (province → city → county), and at the county level the schools as points at their coordinates, a
// click opening the school. Data from a json_script block, outlines from a static file (CSP: no
// inline JS); a file holding several regions (a city's counties) is cut to data.feature when set.
document.addEventListener("DOMContentLoaded", function () {
  var el = document.getElementById("province-map");
  var source = document.getElementById("map-data");
  if (!el || !source || !window.echarts) { return; }
  var data = JSON.parse(source.textContent);
  fetch(el.dataset.geojson).then(function (r) { return r.json(); }).then(function (geo) {
    if (data.feature) {
      geo = { type: "FeatureCollection", features: geo.features.filter(function (f) {
        return (f.properties.code || f.properties.adcode) === data.feature;
      }) };
    }
    echarts.registerMap("area", geo);
    var chart = echarts.init(el, null, { renderer: "svg" });
    var values = data.rows.map(function (r) { return r.value; }).filter(function (v) { return v !== null; });
    var shown = function (v) { return v !== null && v !== undefined ? v.toLocaleString("zh-CN") + data.unit : "—"; };
    var option = {
      tooltip: { trigger: "item", formatter: function (p) {
        var v = p.data ? (data.points ? p.data.value[2] : p.data.value) : null;
        return p.name + "<br>" + data.label + "：" + shown(v);
      } },
      visualMap: {
        min: values.length ? Math.min.apply(null, values) : 0, max: values.length ? Math.max.apply(null, values) : 1,
        left: 8, bottom: 8, text: ["高", "低"], calculable: true, inRange: { color: ["#e8f1fb", "#4299e1", "#1a4480"] }
      },
      animation: false
    };
    if (data.points) {
      option.visualMap.dimension = 2;
      option.visualMap.inRange = { color: ["#f6c344", "#f76707", "#d63939"] };
      option.geo = { map: "area", roam: true, itemStyle: { areaColor: "#f1f5f9", borderColor: "#64748b" },
        emphasis: { disabled: true }, label: { show: false } };
      option.series = [{
        type: "scatter", coordinateSystem: "geo", symbolSize: 9,
        data: data.rows.map(function (r) { return { name: r.name, value: [r.lon, r.lat, r.value], url: r.url }; })
      }];
    } else {
      option.series = [{
        type: "map", map: "area", roam: false, selectedMode: false,
        label: { show: true, fontSize: 10 }, emphasis: { label: { show: true } },
        data: data.rows.map(function (r) { return { name: r.name, value: r.value, url: r.url }; })
      }];
    }
    chart.setOption(option);
    chart.on("click", function (p) {
      if (p.data && p.data.url) { window.location.href = p.data.url; }
    });
    window.addEventListener("resize", function () { chart.resize(); });
    el.dataset.ready = "yes";
  });
});
