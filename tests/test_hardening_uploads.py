"""Hostile files on every upload path (issue 17, point 4): a zip bomb, a truncated workbook, an HTML
page saved as .xls, a renamed executable and a GBK CSV with invalid bytes are refused at upload with
a Chinese message, in well under a second and without unpacking the bomb; no job is queued and the
database is unchanged. The same checks guard filled report workbooks and quality evidence files."""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from eduplatform.core import uploads
from eduplatform.core.models import ImportJob, ImportMode
from eduplatform.core.uploads import UploadRefused, check_spreadsheet
from eduplatform.history.models import AuditEntry, ChangeFeedEntry
from eduplatform.imports import registry
from eduplatform.imports.runner import template

GIB = 1024**3


def _zip(members: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A zip from pre-compressed members: (name, raw deflate data, crc, compressed size, declared size).
    Written by hand so that one compressed block can be used many times and sizes can lie."""
    out, directory = io.BytesIO(), []
    for name, data, crc, _csize, size in members:
        offset = out.tell()
        encoded = name.encode()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size, len(encoded), 0))
        out.write(encoded + data)
        directory.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(data), size,
                                     len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
    start = out.tell()
    for entry in directory:
        out.write(entry)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(directory), len(directory), out.tell() - start, start, 0))
    return out.getvalue()


def _deflated(payload: bytes) -> tuple[bytes, int]:
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
    return squeeze.compress(payload) + squeeze.flush(), zlib.crc32(payload)


def zip_bomb() -> bytes:
    """2.5 MB on disk, 2.5 GB unpacked: forty worksheets of 64 MB of zeros share one deflate block."""
    block = b"\x00" * (64 * 1024 * 1024)
    data, crc = _deflated(block)
    small, small_crc = _deflated(b'<?xml version="1.0"?><workbook/>')
    members = [("[Content_Types].xml", small, small_crc, len(small), 32), ("xl/workbook.xml", small, small_crc, len(small), 32)]
    members += [(f"xl/worksheets/sheet{i}.xml", data, crc, len(data), len(block)) for i in range(1, 41)]
    return _zip(members)


def lying_zip() -> bytes:
    """A member that says it holds 1 KB and unpacks to 64 MB: only reading it can tell."""
    block = b"<row/>" * (11 * 1024 * 1024)
    data, crc = _deflated(block)
    return _zip([("[Content_Types].xml", data, crc, len(data), 1024)])


def real_xlsx() -> bytes:
    return template(registry.get("students"))


HOSTILE = {
    # name: (file name, content builder, what the message must say)
    "zip_bomb": ("学生.xlsx", zip_bomb, "压缩炸弹"),
    "truncated_xlsx": ("学生.xlsx", lambda: real_xlsx()[: len(real_xlsx()) // 2], "已损坏或不完整"),
    "html_as_xls": ("学生名单.xls", lambda: "<html><head><meta charset='utf-8'></head><body><table><tr><td>姓名</td>"
                    "<td>性别</td></tr><tr><td>张三</td><td>男</td></tr></table></body></html>".encode(),
                    "实际是网页（HTML/XML）文件"),
    "renamed_exe": ("学生.xlsx", lambda: b"MZ\x90\x00\x03\x00\x00\x00" + bytes(range(256)) * 40, "实际是Windows 可执行程序"),
    "gbk_csv_invalid_bytes": ("学生.csv", lambda: "姓名,性别\r\n张三,男\r\n".encode("gbk") + b"\xff\x81\x20,\xfe\r\n",
                              "编码无法识别：第 3 行"),
}


def _db_state() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (ImportJob, AuditEntry, ChangeFeedEntry))


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_file_is_refused_by_every_import_at_upload_with_a_chinese_message(client, world, case):
    file_name, build, says = HOSTILE[case]
    content = build()
    assert len(content) < 3 * 1024 * 1024
    client.force_login(world.user("county_a_stat"))
    client.get("/imports/students/")  # the page's first rendering (templates, code tables) is not the check's
    before = _db_state()
    for kind in registry.all_kinds():
        data = {"file": SimpleUploadedFile(file_name, content), "mode": ImportMode.ACCEPT_VALID}
        if kind.for_schools:
            data["school_code"] = world.school_a1.school_code
        # CPU time of this process: the suite shares two cores with PostgreSQL and a second pass, so
        # wall time says little; unpacking the bomb's 2.5 GB would take far more than this.
        started = time.process_time()
        response = client.post(f"/imports/{kind.key}/", data)
        elapsed = time.process_time() - started
        body = response.content.decode()
        assert response.status_code == 200, (kind.key, response.status_code)
        assert says in body, (kind.key, body[body.find("invalid-feedback"):][:400])
        assert elapsed < 3.0, (kind.key, elapsed)
    assert _db_state() == before  # no job, no audit entry, no change: refused before anything was stored


def test_the_zip_bomb_is_refused_on_its_declared_size_without_unpacking(world):
    bomb = zip_bomb()
    tracemalloc.start()  # the bomb is built (64 MB of zeros compressed once) before counting
    started = time.process_time()
    with pytest.raises(UploadRefused, match="解压后有 2,560 MB，超过上限 512 MB"):
        check_spreadsheet(bomb, "学生.xlsx")
    elapsed = time.process_time() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 0.5 and peak < 20 * 1024 * 1024, (elapsed, peak)


def test_a_member_that_unpacks_past_its_declared_size_is_refused_with_bounded_memory():
    lying = lying_zip()
    tracemalloc.start()
    with pytest.raises(UploadRefused, match="解压校验失败"):
        check_spreadsheet(lying, "学生.xlsx")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 16 * 1024 * 1024  # the 64 MB inside was never held whole


def test_a_high_ratio_member_is_refused_even_under_the_total(monkeypatch):
    block = b"\x00" * (8 * 1024 * 1024)
    data, crc = _deflated(block)
    with pytest.raises(UploadRefused, match="压缩比异常"):
        check_spreadsheet(_zip([("xl/worksheets/sheet1.xml", data, crc, len(data), len(block))]), "学生.xlsx")


def test_real_files_of_every_accepted_format_pass(db):
    from tests import corpus

    check_spreadsheet(real_xlsx(), "学生.xlsx")
    check_spreadsheet(real_xlsx(), "学生.xls")  # an xlsx under the old name: the reader takes it
    check_spreadsheet(corpus.county_roster_xls().content, "花名册.xls")
    check_spreadsheet(corpus.national_export_csv("某校").content, "学生.csv")  # GB18030
    check_spreadsheet("姓名,性别\n张三,男\n".encode("utf-16"), "学生.csv")
    check_spreadsheet("\ufeff姓名,性别\n张三,男\n".encode(), "学生.csv")


def test_an_upload_bigger_than_any_path_takes_is_refused_before_it_is_read(client, world, settings):
    settings.UPLOAD_MAX_REQUEST_BYTES = 64 * 1024
    client.force_login(world.user("clerk_a1"))
    before = _db_state()
    response = client.post("/imports/buildings/", {"file": SimpleUploadedFile("校舍.xlsx", b"PK" + b"0" * 100_000),
                                                   "mode": ImportMode.DRY_RUN})
    assert response.status_code == 413
    assert "超过上限 64 KB" in response.content.decode()  # the figure is the real limit
    assert "请分成几个文件上传" in response.content.decode()
    assert _db_state() == before


def test_a_filled_report_workbook_gets_the_same_checks(db):
    from eduplatform.reporting import spreadsheet

    for case in ("zip_bomb", "truncated_xlsx", "renamed_exe"):
        file_name, build, says = HOSTILE[case]
        with pytest.raises(spreadsheet.WorkbookInvalid) as refused:
            spreadsheet.read_form_workbook(None, build(), file_name=file_name)
        assert says in refused.value.problems[0], refused.value.problems


@pytest.mark.parametrize(("name", "content", "says"), [
    ("证明.pdf", b"MZ\x90\x00" + b"\x00" * 64, "佐证材料「证明.pdf」不是有效的PDF 文件：实际是Windows 可执行程序"),
    ("照片.jpg", b"<html><body>x</body></html>", "实际是网页"),
    ("照片.png", b"%PDF-1.4 x", "不是有效的PNG 文件：实际是PDF 文件"),
])
def test_an_evidence_file_must_be_what_its_name_says(name, content, says):
    from eduplatform.quality.issues import check_attachment

    problems = check_attachment(SimpleUploadedFile(name, content))
    assert problems and says in problems[0], problems
    assert check_attachment(SimpleUploadedFile("批文.pdf", b"%PDF-1.7\n...")) == []
    assert check_attachment(SimpleUploadedFile("照片.png", uploads.PNG_MAGIC + b"\x00" * 20)) == []


def test_messages_are_chinese_and_name_the_file(db):
    for file_name, build, _says in HOSTILE.values():
        with pytest.raises(UploadRefused) as refused:
            check_spreadsheet(build(), file_name)
        assert f"「{file_name}」" in refused.value.message
