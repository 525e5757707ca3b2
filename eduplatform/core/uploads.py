"""What an uploaded file really is, checked before it is stored or parsed (issue 17, point 4).

The name a browser sends says nothing: a ``.xls`` may be an HTML page (what many old systems call
"export to Excel"), a ``.xlsx`` an executable or a zip bomb of a few KB that unpacks to gigabytes.
Every upload path calls one of the checks here, in the request, so a bad file is refused with a
Chinese message at once — no job queued, nothing written — and never reaches calamine:

- ``check_spreadsheet``: imports (students, staff, administrators, facilities, land, equipment,
  holdings, through ``imports.runner.submit_import``) and filled report workbooks;
- ``check_attachment_content``: evidence attached to a data-quality issue (PDF, JPG, PNG).

A zip container (xlsx, xlsm, ods) is judged by its central directory first — the declared
uncompressed size of all members and each member's compression ratio — then every member is
decompressed as a stream in 1 MB pieces, counting bytes: a member that unpacks past its declared
size fails its CRC and is refused too, so memory stays bounded whatever the file claims.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePath
from typing import Final

from django.utils.translation import gettext, gettext_noop

MAX_SPREADSHEET_BYTES: Final = 40 * 1024 * 1024  # the upload itself (imports.runner.MAX_FILE_BYTES)
MAX_UNCOMPRESSED_BYTES: Final = 512 * 1024 * 1024  # all members of one xlsx, as declared and as read
MAX_RATIO: Final = 200  # uncompressed / compressed for one member over RATIO_FLOOR (real sheets: 5–30)
RATIO_FLOOR: Final = 1024 * 1024  # small members (styles, empty sheets) may compress better
MAX_MEMBERS: Final = 10_000
_CHUNK: Final = 1024 * 1024

ZIP_MAGIC: Final = b"PK\x03\x04"
OLE2_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (BIFF8 in a compound file)
PDF_MAGIC: Final = b"%PDF-"
PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC: Final = b"\xff\xd8\xff"


class UploadRefused(ValueError):
    """The file is not what its name says, or too big to open safely; ``message`` is for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_WEB_PAGE = gettext_noop("网页（HTML/XML）文件")  # what an "Excel" exported by many systems really is

def describe_content(content: bytes) -> str | None:
    """What a file's first bytes say it is, in Chinese, for the messages (None: plain text)."""
    head = content[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if content.startswith(b"MZ"):
        return gettext("Windows 可执行程序（.exe/.dll）")
    if content.startswith(b"\x7fELF"):
        return gettext("可执行程序")
    if content.startswith(PDF_MAGIC):
        return gettext("PDF 文件")
    if content.startswith(PNG_MAGIC) or content.startswith(JPEG_MAGIC):
        return gettext("图片")
    if content.startswith((b"Rar!", b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b")):
        return gettext("压缩包")
    if head.startswith((b"<!doctype html", b"<html", b"<table", b"<meta", b"<head")) or (
            head.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in content[:4096]):
        return gettext(_WEB_PAGE)
    if content.startswith(ZIP_MAGIC):
        return gettext("压缩包")
    if content.startswith(OLE2_MAGIC):
        return gettext("旧版 Office 文件")
    return None


def _refuse_as(file_name: str, found: str | None, wanted: str) -> UploadRefused:
    what = gettext("实际是%(found)s") % {"found": found} if found else gettext("内容与扩展名不符")
    hint = gettext("；从其他系统导出的“Excel”多为网页格式，请用 Excel 或 WPS 打开后另存为 .xlsx 再上传") if found and found == gettext(_WEB_PAGE) else ""
    return UploadRefused(gettext("文件「%(file_name)s」不是有效的%(wanted)s：%(what)s%(hint)s") % {"file_name": file_name, "wanted": wanted, "what": what, "hint": hint})


def check_zip_container(content: bytes, file_name: str) -> None:
    """Refuse a zip that is damaged, or that unpacks (declared or really) past the limits."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise UploadRefused(gettext("文件「%(file_name)s」已损坏或不完整（无法解压），请重新保存后再上传") % {"file_name": file_name}) from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise UploadRefused(gettext("文件「%(file_name)s」内含 %(count)s 个部件，不是正常的表格文件") % {"file_name": file_name, "count": format(len(members), ",")})
        declared = sum(m.file_size for m in members)
        limit_mb = MAX_UNCOMPRESSED_BYTES // 1024 // 1024
        if declared > MAX_UNCOMPRESSED_BYTES:
            raise UploadRefused(
                gettext("文件「%(file_name)s」解压后有 %(mb)s MB，超过上限 %(limit_mb)s MB：这不是正常的表格文件（可能是“压缩炸弹”），已拒绝") % {"file_name": file_name, "mb": format(declared / 1024 / 1024, ",.0f"), "limit_mb": limit_mb})
        for member in members:
            if member.file_size > RATIO_FLOOR and member.file_size > MAX_RATIO * max(member.compress_size, 1):
                raise UploadRefused(
                    gettext("文件「%(file_name)s」中的部件 %(member)s 压缩比异常（%(compress_size)s 字节解压为 %(file_size)s 字节），这不是正常的表格文件（可能是“压缩炸弹”），已拒绝") % {"file_name": file_name, "member": member.filename[:60], "compress_size": format(member.compress_size, ","), "file_size": format(member.file_size, ",")})
        # The directory may lie: read every member as a stream, counting what really comes out.
        # zipfile stops a member at its declared size and then checks its CRC.
        total = 0
        try:
            for member in members:
                with archive.open(member) as stream:
                    while chunk := stream.read(_CHUNK):
                        total += len(chunk)
                        if total > MAX_UNCOMPRESSED_BYTES:
                            raise UploadRefused(
                                gettext("文件「%(file_name)s」解压后超过上限 %(limit_mb)s MB，这不是正常的表格文件，已拒绝") % {"file_name": file_name, "limit_mb": limit_mb})
        except UploadRefused:
            raise
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError,
                RuntimeError):  # RuntimeError: an encrypted member
            raise UploadRefused(gettext("文件「%(file_name)s」已损坏或不完整（解压校验失败），请重新保存后再上传") % {"file_name": file_name}) from None


def _check_text(content: bytes, file_name: str) -> None:
    if (found := describe_content(content)) is not None:
        raise _refuse_as(file_name, found, gettext("CSV 文本文件"))
    if b"\x00" in content[:65536] and not content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _refuse_as(file_name, gettext("二进制文件"), gettext("CSV 文本文件"))
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            content.decode("utf-16")
        except UnicodeDecodeError:
            raise UploadRefused(gettext("文件「%(file_name)s」的编码无法识别（UTF-16 内容已损坏）") % {"file_name": file_name}) from None
        return
    try:
        content.decode("utf-8-sig")
        return
    except UnicodeDecodeError:
        pass
    try:
        content.decode("gb18030")
    except UnicodeDecodeError as err:
        line = content[: err.start].count(b"\n") + 1
        raise UploadRefused(
            gettext("文件「%(file_name)s」的编码无法识别：第 %(line)s 行有既不是 UTF-8 也不是 GBK/GB18030 的字节。请在 Excel 中“另存为 → CSV UTF-8（逗号分隔）”或另存为 .xlsx 后再上传") % {"file_name": file_name, "line": line}) from None


def check_spreadsheet(content: bytes, file_name: str, *, max_bytes: int = MAX_SPREADSHEET_BYTES) -> None:
    """Refuse a file that is not the spreadsheet or CSV its name says, or that is unsafe to open."""
    if len(content) > max_bytes:
        raise UploadRefused(gettext("文件「%(file_name)s」超过 %(mb)s MB，请分成几个文件上传") % {"file_name": file_name, "mb": max_bytes // 1024 // 1024})
    if not content:
        raise UploadRefused(gettext("文件「%(file_name)s」是空的") % {"file_name": file_name})
    suffix = PurePath(file_name).suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".ods"):
        if not content.startswith(ZIP_MAGIC):
            raise _refuse_as(file_name, describe_content(content), gettext("%(suffix)s 表格文件") % {"suffix": suffix})
        check_zip_container(content, file_name)
    elif suffix == ".xls":
        if content.startswith(ZIP_MAGIC):  # an .xlsx saved under the old name: calamine reads it
            check_zip_container(content, file_name)
        elif not content.startswith(OLE2_MAGIC):
            raise _refuse_as(file_name, describe_content(content), gettext(".xls 表格文件"))
    elif suffix in (".csv", ".txt", ".tsv"):
        _check_text(content, file_name)
    # Any other suffix: the reader refuses it with its own message (which formats it takes).


ATTACHMENT_MAGIC: Final = {".pdf": (PDF_MAGIC,), ".jpg": (JPEG_MAGIC,), ".jpeg": (JPEG_MAGIC,), ".png": (PNG_MAGIC,)}


def check_attachment_content(head: bytes, file_name: str) -> str | None:
    """The Chinese problem with an evidence file whose first bytes are not its type, or None."""
    suffix = PurePath(file_name).suffix.lower()
    magics = ATTACHMENT_MAGIC.get(suffix)
    if magics is None or head.startswith(magics):
        return None
    return _refuse_as(file_name, describe_content(head), gettext("%(kind)s 文件") % {"kind": suffix.lstrip('.').upper()}).message
