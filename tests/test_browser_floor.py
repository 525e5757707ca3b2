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
    return subprocess.run([node, str(CHECK), *map(str, files)], capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_the_floor_is_stated_once_in_package_json():
    assert json.loads((ROOT / "package.json").read_text())["browserslist"] == ["chrome >= 108"]
    assert "Chrome 108" in (ROOT / "README.md").read_text()


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
