"""The stated browser floor (README: Chrome/Chromium 108 — Chrome 109 on Windows 7, the 360 极速 and
360 安全 browsers' 108 kernel) is checked on every style sheet and script the platform serves:
``scripts/browser-floor/check.mjs`` (doiuse on caniuse data, the newer colour and selector features
by name, esbuild for script syntax). Tabler 1.6 as published fails it (color-mix(), light-dark(),
oklch()); the copy ``scripts/vendor-assets.sh`` serves carries static fallbacks and passes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_browser import chromium, reference_restored  # noqa: F401 — fixtures

ROOT = Path(__file__).resolve().parent.parent
CHECK = ROOT / "scripts" / "browser-floor" / "check.mjs"
VENDOR = ROOT / "var" / "vendor"


def _served_files() -> list[Path]:
    app_static = [p for p in (ROOT / "eduplatform").glob("*/static/**/*") if p.suffix in {".css", ".js"}]
    vendor = [p for p in VENDOR.glob("**/*") if p.suffix in {".css", ".js"}]
    return sorted(app_static) + sorted(vendor)


def _check(*files: Path) -> subprocess.CompletedProcess:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "doiuse").exists():
        pytest.fail("node and the npm packages are needed (`make install`)", pytrace=False)
    return subprocess.run([node, str(CHECK), *map(str, files)],  # noqa: S603 — our own script
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_the_floor_is_stated_once_in_package_json():
    assert json.loads((ROOT / "package.json").read_text())["browserslist"] == ["chrome >= 108"]
    assert "Browser floor: Chrome/Chromium 108" in (ROOT / "README.md").read_text()


def test_every_served_style_sheet_and_script_works_at_the_browser_floor():
    files = _served_files()
    assert VENDOR / "tabler" / "tabler.min.css" in files and VENDOR / "echarts" / "echarts.min.js" in files
    result = _check(*files)
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(files)} files checked, 0 failing" in result.stdout


def test_the_check_fails_on_tabler_as_published_and_on_newer_script_syntax(tmp_path):
    """The check is not a formality: the npm package's own Tabler and a script using syntax newer
    than the floor are refused, naming the feature."""
    script = tmp_path / "new.js"
    # Chrome 108 has optional chaining and class static blocks, not the regular expression v flag (112).
    script.write_text("class C { static { C.a = {b: 1}?.b; } }\nconst letters = /[\\p{L}--[a-z]]/v;\n")
    published = ROOT / "node_modules" / "@tabler" / "core" / "dist" / "css" / "tabler.min.css"
    result = _check(published, script)
    assert result.returncode == 1
    assert "color-mix() (Chrome 111)" in result.stdout or "LCH and Lab" in result.stdout
    assert f"{script}: 1 use(s)" in result.stdout
    assert "2 files checked, 2 failing" in result.stdout


def test_the_check_passes_optional_chaining_and_static_blocks_the_floor_has(tmp_path):
    script = tmp_path / "ok.js"
    script.write_text("class C { static { C.a = {b: 1}?.b ?? 2; } }\n")
    assert _check(script).returncode == 0


SAMPLE = """<!doctype html><html lang="zh-Hans"><head><meta charset="utf-8"></head><body>
<div class="page"><div class="container-xl">
<a id="link" href="#">链接</a>
<button id="btn-primary" class="btn btn-primary">新增学生</button> <button id="btn" class="btn">导入</button>
<span id="badge" class="badge bg-green-lt">在读</span> <span id="badge-red" class="badge bg-red">3</span>
<div id="alert" class="alert alert-danger">错误</div>
<div id="card" class="card"><div class="card-body"><table class="table"><thead><tr><th id="th">学籍号</th></tr>
</thead><tbody><tr><td id="td">G1</td></tr></tbody></table></div></div>
<select id="select" class="form-select"><option>全部</option></select>
<input id="input" class="form-control" value="x"> <input id="invalid" class="form-control is-invalid" value="x">
<div id="feedback" class="invalid-feedback d-block">必填</div>
<button id="btn-outline" class="btn btn-outline-primary">导出</button> <button id="btn-danger" class="btn btn-danger">删除</button>
<span id="badge-sec" class="badge bg-secondary-lt">建设中</span> <span id="badge-blue" class="badge bg-blue-lt">待审</span>
<span id="badge-warn" class="badge bg-warning">警告</span> <span id="text-sec" class="text-secondary">说明</span>
<div id="alert-info" class="alert alert-info">提示</div> <div id="alert-ok" class="alert alert-success">成功</div>
<div id="alert-warn" class="alert alert-warning">注意</div> <div id="primary-lt" class="bg-primary-lt">区块</div>
<table class="table table-striped"><tbody><tr><td id="striped">1</td></tr><tr><td>2</td></tr></tbody></table>
<ol class="breadcrumb"><li class="breadcrumb-item"><a id="crumb" href="#">实时统计</a></li></ol>
<div class="progress"><div id="bar" class="progress-bar" style="width: 40%"></div></div>
<ul class="nav nav-tabs"><li class="nav-item">
<a id="tab" class="nav-link active" href="#">学生名单</a></li></ul>
</div></div></body></html>"""
PROPERTIES = ["color", "background-color", "border-top-color", "background-image"]
# Each element's colours as the sRGB pixel they paint (a canvas reads oklch() and rgb() alike), and
# background-image as the browser keeps it (a select's chevron: none when its value was dropped).
READ_COLOURS = """props => {
  const ctx = document.createElement('canvas').getContext('2d', {willReadFrequently: true});
  const pixel = c => { ctx.clearRect(0, 0, 1, 1); ctx.fillStyle = '#010203'; ctx.fillStyle = c;
                       ctx.fillRect(0, 0, 1, 1); return [...ctx.getImageData(0, 0, 1, 1).data]; };
  return Object.fromEntries([...document.querySelectorAll('[id]')].map(el => [el.id, Object.fromEntries(
    props.map(p => { const v = getComputedStyle(el)[p]; return [p, p === 'background-image' ? v : pixel(v)]; }))]));
}"""


@pytest.mark.browser
def test_tabler_at_the_floor_looks_as_it_does_today(chromium, live_server, tmp_path):  # noqa: F811
    """The fallbacks make the page look the same to an engine at the floor: the served Tabler is
    rendered as today's chromium sees it and as the floor sees it (simulate.mjs: what Chrome 108
    drops, dropped), and the colours of links, buttons, badges, alerts, tables, selects, inputs and
    tabs agree within 3/255 per channel — and Tabler as published, seen the same way, does not."""
    served = VENDOR / "tabler" / "tabler.min.css"
    published = ROOT / "node_modules" / "@tabler" / "core" / "dist" / "css" / "tabler.min.css"

    def floor_copy(css: Path, name: str) -> str:
        out = tmp_path / name
        subprocess.run(["node", str(ROOT / "scripts" / "browser-floor" / "simulate.mjs"), str(css), str(out)],  # noqa: S603, S607
                       check=True, cwd=ROOT, timeout=120)
        return out.read_text()

    def styles(css: str) -> dict[str, dict[str, str]]:
        page = chromium.new_page()
        page.set_content(SAMPLE)
        page.add_style_tag(content=css)
        # Computed colours mid-transition (Tabler's .btn fades its background in) would vary by timing.
        page.add_style_tag(content="*, *::before, *::after { transition: none !important; animation: none !important; }")
        found = page.evaluate(READ_COLOURS, PROPERTIES)
        page.close()
        return found

    def differences(today: dict, floor: dict) -> list[str]:
        found = []
        for element, props in today.items():
            for prop, value in props.items():
                seen = floor[element][prop]
                if isinstance(value, list):  # [r, g, b, a]: the colour channels count where visible
                    channels = range(4) if min(value[3], seen[3]) > 25 else [3]
                    if any(abs(value[i] - seen[i]) > 3 for i in channels):
                        found.append(f"#{element} {prop}: {value} today, {seen} at the floor")
                elif (value == "none") != (seen == "none"):
                    found.append(f"#{element} {prop}: {value[:60]} today, {seen[:60]} at the floor")
        return found

    today = styles(served.read_text())
    assert today["btn-primary"]["background-color"] != "rgba(0, 0, 0, 0)"  # the sample is styled
    found = differences(today, styles(floor_copy(served, "served-floor.css")))
    assert found == [], "\n".join(found)
    assert differences(styles(published.read_text()), styles(floor_copy(published, "published-floor.css")))
