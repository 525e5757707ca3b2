"""Field-key rotation while the platform runs, and the 国密 (SM4-GCM / HMAC-SM3) suite beside AES."""

from __future__ import annotations

import base64
import datetime as dt
import io

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError

from eduplatform.core import crypto, key_rotation
from eduplatform.core.identity import id_index
from eduplatform.core.models import ExportJob
from eduplatform.staff import services as staff_services
from eduplatform.staff.models import StaffMember
from eduplatform.students import services as student_services
from eduplatform.students.models import Student
from tests.concurrency import committing, postgres_only, run_concurrently
from tests.staff_support import staff_row
from tests.students_support import student_row
from tests.world import build_world

TODAY = dt.date(2026, 3, 2)
NEW_AES = "k2027:" + base64.b64encode(b"n" * 32).decode()
NEW_SM4 = "sm2027:sm4:" + base64.b64encode(b"s" * 16).decode()


def enrol(world, seq: int) -> Student:
    return student_services.enrol_student(actor=world.user("clerk_a1"), school=world.school_a1,
                                          data=student_row(seq), today=TODAY).student


def sealed_values(student: Student) -> list[str]:
    return [student.id_number_cipher, student.phone_cipher, *(g["phone_cipher"] for g in student.guardians)]


def test_every_cipher_column_of_every_model_is_rotated():
    registered = {(c.model_class(), c.field) for c in key_rotation.SEALED_COLUMNS}
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if field.name.endswith("_cipher"):
                assert (model, field.name) in registered, f"{model.__name__}.{field.name} is sealed but not rotated"


def test_rotation_reseals_every_column_in_batches_and_old_key_can_then_go(world, settings):
    students = [enrol(world, seq) for seq in range(1, 6)]
    teacher = staff_services.hire(actor=world.user("clerk_a1"), unit=world.school_a1, data=staff_row(1))
    job = ExportJob.objects.create(label="名单", path="/", region_path="", requested_by_id=1, requested_by="x",
                                   content=crypto.seal_file(b"workbook"), file_kept=True)
    old_spec = settings.FIELD_ENCRYPTION_KEYS
    settings.FIELD_ENCRYPTION_KEYS = f"{NEW_AES},{old_spec}"

    before = io.StringIO()
    with pytest.raises(SystemExit):  # --check fails while old ciphertexts remain
        call_command("rotate_field_keys", "--check", stdout=before)
    assert "students.Student.id_number_cipher：密钥 demo1：5" in before.getvalue()

    out = io.StringIO()
    call_command("rotate_field_keys", "--batch-size", "2", stdout=out)  # 5 students: three batches
    assert "已处理到主键" in out.getvalue() and "已无旧密钥密文" in out.getvalue()
    assert "可从 FIELD_ENCRYPTION_KEYS 中移除：demo1" in out.getvalue()
    assert not any(key_rotation.sealed_census().values())

    # Only the new key left: everything still reads, and the blind index (own key) still finds people.
    settings.FIELD_ENCRYPTION_KEYS = NEW_AES
    for seq, student in enumerate(students, start=1):
        fresh = Student.objects.get(pk=student.pk)
        assert all(v.startswith("k2027:") for v in sealed_values(fresh))
        assert crypto.decrypt(fresh.id_number_cipher) == student_row(seq)["id_number"]
        assert Student.objects.filter(id_number_index=id_index("1", student_row(seq)["id_number"])).count() == 1
    staff = StaffMember.objects.get(pk=teacher.pk)
    assert staff.id_number_cipher.startswith("k2027:") and crypto.decrypt(staff.id_number_cipher) == staff_row(1)["id_number"]
    assert crypto.open_file(ExportJob.objects.get(pk=job.pk).content) == b"workbook"
    assert "已无旧密钥密文" in _check()


def _check() -> str:
    out = io.StringIO()
    call_command("rotate_field_keys", "--check", stdout=out)
    return out.getvalue()


def test_an_interrupted_rotation_resumes_after_the_last_primary_key(world, settings):
    first, second, third = (enrol(world, seq) for seq in (1, 2, 3))
    settings.FIELD_ENCRYPTION_KEYS = f"{NEW_AES},{settings.FIELD_ENCRYPTION_KEYS}"
    call_command("rotate_field_keys", "--column", "students.Student.phone_cipher", "--start-after", str(first.pk),
                 stdout=io.StringIO())
    keys = {s.pk: crypto.key_id_of(s.phone_cipher) for s in Student.objects.all()}
    assert keys == {first.pk: "demo1", second.pk: "k2027", third.pk: "k2027"}


def test_sm4_gcm_matches_the_rfc_8998_vector_and_sm3_the_gb_t_32905_vector():
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    nonce = bytes.fromhex("00001234567800000000ABCD")
    aad = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    plain = bytes.fromhex("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
                          "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA")
    sealed = crypto.SM4GCM(key).encrypt(nonce, plain, aad)
    assert sealed.hex().upper() == (
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
        "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
        "83DE3541E4C2B58177E065A9BF7B62EC")
    assert crypto.SM4GCM(key).decrypt(nonce, sealed, aad) == plain
    from cryptography.hazmat.primitives import hashes

    digest = hashes.Hash(hashes.SM3())
    digest.update(b"abc")
    assert digest.finalize().hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_the_sm_suite_seals_with_sm4_and_indexes_with_hmac_sm3(settings):
    aes_index = crypto.blind_index("440101201001011234", "id")
    settings.FIELD_ENCRYPTION_KEYS = f"{NEW_SM4},{settings.FIELD_ENCRYPTION_KEYS}"
    settings.FIELD_CRYPTO_SUITE = "sm"
    stored = crypto.encrypt("13800138000")
    assert stored.startswith("sm2027:") and crypto.decrypt(stored) == "13800138000"
    assert crypto.open_file(crypto.seal_file(b"xlsx")) == b"xlsx"
    sm3_index = crypto.blind_index("440101201001011234", "id")
    assert len(sm3_index) == 40 and sm3_index != aes_index
    assert crypto.Cipher().blind_index("440101201001011234", "id") == sm3_index
    # Tampering is detected as with AES-GCM.
    blob = bytearray(base64.b64decode(stored.partition(":")[2]))
    blob[-1] ^= 1
    with pytest.raises(Exception):  # noqa: B017 — cryptography's InvalidTag
        crypto.decrypt("sm2027:" + base64.b64encode(bytes(blob)).decode())


def test_a_gm_suite_whose_current_key_is_not_sm4_is_refused(settings):
    settings.FIELD_CRYPTO_SUITE = "sm"
    with pytest.raises(ImproperlyConfigured, match="sm4"):
        crypto.encrypt("x")
    settings.FIELD_CRYPTO_SUITE = "des"
    with pytest.raises(ImproperlyConfigured, match="FIELD_CRYPTO_SUITE"):
        crypto.encrypt("x")
    settings.FIELD_CRYPTO_SUITE = "aes"
    settings.FIELD_ENCRYPTION_KEYS = "bad:sm4:" + base64.b64encode(b"x" * 32).decode()
    with pytest.raises(ImproperlyConfigured, match="16"):
        crypto.encrypt("x")


def test_a_database_moves_from_aes_to_sm4_reading_both_meanwhile(world, settings):
    aes_student = enrol(world, 1)
    settings.FIELD_ENCRYPTION_KEYS = f"{NEW_SM4},{settings.FIELD_ENCRYPTION_KEYS}"
    sm4_student = enrol(world, 2)
    assert aes_student.id_number_cipher.startswith("demo1:") and sm4_student.id_number_cipher.startswith("sm2027:")
    # Both suites' ciphertexts read side by side: the key id says which algorithm opens each.
    assert crypto.decrypt(aes_student.phone_cipher) == crypto.decrypt(sm4_student.phone_cipher) == "13800138000"
    key_rotation.rotate_all()
    settings.FIELD_ENCRYPTION_KEYS = NEW_SM4
    for seq, student in ((1, aes_student), (2, sm4_student)):
        fresh = Student.objects.get(pk=student.pk)
        assert all(v.startswith("sm2027:") for v in sealed_values(fresh))
        assert crypto.decrypt(fresh.id_number_cipher) == student_row(seq)["id_number"]


@pytest.fixture
def committed_world(transactional_db):
    return build_world()


@committing
@postgres_only
def test_a_row_changed_by_a_service_during_rotation_keeps_the_services_value(committed_world, settings, monkeypatch):
    """The rotation scans without locks; a writer on its own connection commits a new phone number
    between that scan and the rotation's write. The rotation must re-seal the writer's value, not
    the one it scanned."""
    students = [enrol(committed_world, seq) for seq in (1, 2)]
    target = students[1]
    settings.FIELD_ENCRYPTION_KEYS = f"{NEW_AES},{settings.FIELD_ENCRYPTION_KEYS}"
    original_scan = key_rotation.scan_batch
    wrote: list[str] = []

    def write_under_old_key() -> None:
        # A service instance still configured with the old key only (not yet restarted).
        old_sealed = crypto.Cipher(crypto.field_keys().__class__(
            "demo1", crypto.field_keys().keys, crypto.field_keys().algorithms, crypto.field_keys().index_key, "aes"))
        value = old_sealed.encrypt("13911112222")
        Student.objects.filter(pk=target.pk).update(phone_cipher=value)
        wrote.append(value)

    def scan_then_let_a_service_write(column, **kwargs):
        found = original_scan(column, **kwargs)
        if column.field == "phone_cipher" and column.model == "students.Student" and not wrote:
            assert target.pk in found[0]
            run_concurrently(write_under_old_key)  # its own connection, committed before we go on
        return found

    monkeypatch.setattr(key_rotation, "scan_batch", scan_then_let_a_service_write)
    key_rotation.rotate_column(next(c for c in key_rotation.SEALED_COLUMNS if c.field == "phone_cipher"
                                    and c.model == "students.Student"))
    stored = Student.objects.get(pk=target.pk).phone_cipher
    assert wrote and stored != wrote[0] and stored.startswith("k2027:")
    assert crypto.decrypt(stored) == "13911112222"  # the service's number, not the one scanned
    assert crypto.decrypt(Student.objects.get(pk=students[0].pk).phone_cipher) == "13800138000"


@committing
@postgres_only
def test_two_rotations_and_writers_at_once_leave_every_row_readable_under_the_new_key(committed_world, settings):
    students = [enrol(committed_world, seq) for seq in range(1, 7)]
    settings.FIELD_ENCRYPTION_KEYS = f"{NEW_AES},{settings.FIELD_ENCRYPTION_KEYS}"
    column = next(c for c in key_rotation.SEALED_COLUMNS if c.field == "phone_cipher" and c.model == "students.Student")

    def writer() -> None:
        for i, s in enumerate(students):
            Student.objects.filter(pk=s.pk).update(phone_cipher=crypto.encrypt(f"1370000{i:04d}"))

    run_concurrently(lambda: key_rotation.rotate_column(column, batch_size=2),
                     lambda: key_rotation.rotate_column(column, batch_size=3), writer)
    for i, s in enumerate(students):
        stored = Student.objects.get(pk=s.pk).phone_cipher
        assert stored.startswith("k2027:") and crypto.decrypt(stored) == f"1370000{i:04d}"


def test_the_blind_index_is_rebuilt_offline_for_a_new_index_key_and_the_sm_suite(world, settings):
    students = [enrol(world, seq) for seq in (1, 2)]
    teacher = staff_services.hire(actor=world.user("clerk_a1"), unit=world.school_a1, data=staff_row(1))
    old_key = settings.FIELD_INDEX_KEY
    # The maintenance window: the 国密 suite, an SM4 key first, and a new index key.
    settings.FIELD_ENCRYPTION_KEYS = f"{NEW_SM4},{settings.FIELD_ENCRYPTION_KEYS}"
    settings.FIELD_CRYPTO_SUITE = "sm"
    settings.FIELD_INDEX_KEY = base64.b64encode(b"i" * 32).decode()
    number = student_row(1)["id_number"]
    assert not Student.objects.filter(id_number_index=id_index("1", number)).exists()  # look-ups miss until rebuilt
    out = io.StringIO()
    call_command("rebuild_blind_index", "--old-index-key", old_key, "--old-suite", "aes", stdout=out)
    assert "students.Student：改写 2" in out.getvalue() and "staff.StaffMember：改写 1" in out.getvalue()
    for seq, student in enumerate(students, start=1):
        assert Student.objects.get(id_number_index=id_index("1", student_row(seq)["id_number"])).pk == student.pk
    assert StaffMember.objects.get(id_number_index=id_index("1", staff_row(1)["id_number"])).pk == teacher.pk
    again = io.StringIO()  # resumable: a second run recognises the new values
    call_command("rebuild_blind_index", "--old-index-key", old_key, stdout=again)
    assert "students.Student：改写 0，已是新索引 2" in again.getvalue()
    Student.objects.filter(pk=students[0].pk).update(id_number_index="f" * 40)
    with pytest.raises(CommandError, match="既不是原索引也不是新索引"):
        call_command("rebuild_blind_index", "--old-index-key", old_key, stdout=io.StringIO())
    with pytest.raises(CommandError, match="相同"):
        call_command("rebuild_blind_index", "--old-index-key", settings.FIELD_INDEX_KEY, "--old-suite", "sm")
