"""What a city node replicates and who sees the node page (both databases; the clusters are in
tests/test_city_nodes.py)."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection

from eduplatform.nodes import plan, services
from eduplatform.nodes.models import CityNode, NodeRole

OUR_APPS = "eduplatform."


def test_every_model_of_the_platform_is_replicated_filtered_whole_or_kept_out_with_a_reason():
    classified = [*plan.BY_REGION, *plan.BY_EITHER_END, *plan.REFERENCE, plan.HEARTBEAT, *plan.NOT_REPLICATED]
    ours = {m._meta.label for m in apps.get_models() if m.__module__.startswith(OUR_APPS)}
    assert len(classified) == len(set(classified)), "a model is classified twice"
    assert ours - set(classified) == set(), "classify the new model in eduplatform/nodes/plan.py"
    assert set(classified) - ours == set()
    assert all(reason for reason in plan.NOT_REPLICATED.values())


def test_a_region_filter_keeps_the_city_and_a_transfer_filter_either_end():
    by_label = {t.label: t for t in plan.replicated_tables()}
    student, transfer = by_label["students.Student"], by_label["students.ChangeRequest"]
    region = by_label["orgs.Region"]
    assert student.row_filter(city_path="44/4401/", city_code="4401") == "(region_path LIKE '44/4401/%')"
    assert transfer.row_filter(city_path="44/4401/", city_code="4401") == (
        "(from_path LIKE '44/4401/%' OR to_path LIKE '44/4401/%')")
    assert region.row_filter(city_path="44/4401/", city_code="4401") == ""
    assert by_label[plan.HEARTBEAT].row_filter(city_path="44/4401/", city_code="4401") == "(city_code = '4401')"
    with pytest.raises(ValueError):
        student.row_filter(city_path="44/4401/' OR true --", city_code="4401")


def test_city_codes_are_four_digits_or_the_twelve_digit_division_code():
    assert services.city_code_of("4401") == "4401"
    assert services.city_code_of("440100000000") == "4401"
    for wrong in ("440106000000", "44", "gz"):
        with pytest.raises(services.NodeSetupError):
            services.city_code_of(wrong)


def test_the_stored_connection_string_never_keeps_the_password():
    assert services.dsn_without_password("host=p port=5432 password=s3cret dbname=x") == "host=p port=5432 dbname=x"
    assert services.dsn_without_password("postgres://rep:s3cret@p:5432/x") == "postgres://rep@p:5432/x"


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="replica identity is a PostgreSQL setting")
def test_every_filtered_table_has_its_region_in_the_replica_identity():
    with connection.cursor() as cursor:
        for table in plan.filtered_tables():
            cursor.execute(
                "SELECT c.relreplident, array_agg(a.attname::text ORDER BY a.attname) FROM pg_class c "
                "JOIN pg_index i ON i.indrelid = c.oid AND i.indisreplident "
                "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey) "
                "WHERE c.relname = %s GROUP BY c.relreplident", [table.table])
            row = cursor.fetchone()
            assert row is not None and row[0] == "i", f"{table.table} has no replica identity index"
            assert set(row[1]) == {table.pk, *table.filter_columns}, table.table


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="replica identity is a PostgreSQL setting")
def test_publishing_restores_a_replica_identity_lost_to_a_bulk_load():
    with connection.cursor() as cursor:
        # what eduplatform/demo/bulk.py did before it restored them: drop and rebuild the index
        cursor.execute("DROP INDEX students_enrolment_node_ident")
        cursor.execute("CREATE UNIQUE INDEX students_enrolment_node_ident ON students_enrolment (id, region_path)")
        cursor.execute("ALTER TABLE students_student REPLICA IDENTITY DEFAULT")

        assert services.ensure_replica_identity() == ["students_student", "students_enrolment"]

        cursor.execute("SELECT relname, relreplident FROM pg_class WHERE relname IN "
                       "('students_student', 'students_enrolment') ORDER BY 1")
        assert cursor.fetchall() == [("students_enrolment", "i"), ("students_student", "i")]
        assert services.ensure_replica_identity() == []


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="publications are PostgreSQL's")
def test_publishing_a_city_twice_leaves_one_publication_with_every_table_filtered():
    from django.core.management import call_command

    call_command("node_publish", city=["4401"])
    call_command("node_publish", city=["440100000000"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_publication WHERE pubname = 'city_4401'")
        assert cursor.fetchone()[0] == 1
        cursor.execute("SELECT tablename, rowfilter FROM pg_publication_tables WHERE pubname = 'city_4401'")
        published = dict(cursor.fetchall())
    tables = {t.table: t for t in plan.replicated_tables()}
    assert set(published) == set(tables)
    assert "44/4401/" in published["students_student"]
    assert published["orgs_region"] is None
    assert CityNode.objects.get(role=NodeRole.PUBLISHER).tables == len(tables)


# --------------------------------------------------------------------------------------------
# The page


@pytest.fixture
def published(db):
    CityNode.objects.create(city_code="4401", city_name="广州市", region_path="44/4401/", role=NodeRole.PUBLISHER,
                            publication="city_4401", tables=60)
    CityNode.objects.create(city_code="4403", city_name="深圳市", region_path="44/4403/", role=NodeRole.PUBLISHER,
                            publication="city_4403", tables=60)
    # as if this database were also Guangzhou's node, its subscription not (yet) created
    CityNode.objects.create(city_code="4401", city_name="广州市", region_path="44/4401/", role=NodeRole.SUBSCRIBER,
                            publication="city_4401", subscription="city_4401", tables=60)


def test_a_province_user_sees_every_city_node(client, world, published):
    client.force_login(world.user("province"))
    response = client.get("/nodes/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'href="/nodes/"' in body  # in the navigation
    if connection.vendor == "postgresql":
        assert 'data-testid="published-4401"' in body and 'data-testid="published-4403"' in body
        assert "节点尚未订阅" in body  # no slot exists for either
        assert 'data-testid="subscribed-4401"' in body and "本库没有该订阅" in body
    else:
        assert 'data-testid="nodes-unsupported"' in body


def test_a_city_data_centre_sees_only_its_own_node(client, world, published):
    client.force_login(world.user("city_stat"))
    body = client.get("/nodes/").content.decode()
    assert "深圳市" not in body and 'published-4403' not in body
    if connection.vendor == "postgresql":
        assert 'data-testid="published-4401"' in body


@pytest.mark.parametrize("key", ["county_a_stat", "clerk_a1"])
def test_county_and_school_users_may_not_open_the_node_page(client, world, published, key):
    client.force_login(world.user(key))
    assert client.get("/nodes/").status_code == 403
    assert 'href="/nodes/"' not in client.get("/").content.decode()
