"""What vector collections and searches accept, checked before any database work."""

import math
from datetime import UTC, datetime

import pytest
from google.protobuf import struct_pb2

from services.kit.errors import Kind, PlatformError
from services.l01_data.proto_json import struct_to_python, value_to_python
from services.l01_data.vectors import store as vs
from services.l01_data.vectors import tables as vc

pytestmark = [pytest.mark.unit, pytest.mark.l01]


def _info(dimension: int = 3, distance: vc.Distance = vc.Distance.COSINE) -> vc.CollectionInfo:
    return vc.CollectionInfo("c", 7, dimension, distance, 16, 64, datetime.now(UTC))


def _refusal(call, *args) -> PlatformError:
    with pytest.raises(PlatformError) as caught:
        call(*args)
    assert caught.value.error.kind is Kind.INVALID_ARGUMENT
    return caught.value


def test_the_table_name_comes_from_the_registry_number_only() -> None:
    info = _info()
    assert (info.table, info.hnsw_index) == ("vectors_7", "vectors_7_hnsw")
    sql = vc.hnsw_index_sql(info)
    assert "USING hnsw (embedding vector_cosine_ops)" in sql
    assert "m = 16, ef_construction = 64" in sql


@pytest.mark.parametrize(
    ("distance", "opclass"),
    [(vc.Distance.L2, "vector_l2_ops"), (vc.Distance.INNER_PRODUCT, "vector_ip_ops")],
)
def test_each_distance_gets_its_opclass(distance: vc.Distance, opclass: str) -> None:
    assert opclass in vc.hnsw_index_sql(_info(distance=distance))


def test_a_vector_of_the_wrong_dimension_is_refused() -> None:
    error = _refusal(vs.check_vector, [1.0, 2.0], _info(3), "vectors[4].values")
    assert error.code == "E1202"
    assert error.field == "vectors[4].values"
    assert error.metadata == {"dimension": "3", "received": "2"}


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_components_are_refused_naming_the_index(bad: float) -> None:
    error = _refusal(vs.check_vector, [1.0, bad, 0.5], _info(3), "vector")
    assert (error.code, error.field) == ("E1203", "vector[1]")


def test_zero_vectors_are_refused_only_under_cosine() -> None:
    assert _refusal(vs.check_vector, [0.0, 0.0], _info(2), "vector").code == "E1204"
    vs.check_vector([0.0, 0.0], _info(2, vc.Distance.L2), "vector")


def test_largest_float32_values_are_finite() -> None:
    vs.check_vector([3.4e38] * 2000, _info(2000, vc.Distance.L2), "vector")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("", 3, vc.Distance.L2, 0, 0, False), "collection_id"),
        (("a/b", 3, vc.Distance.L2, 0, 0, False), "collection_id"),
        (("c", 0, vc.Distance.L2, 0, 0, False), "collection.dimension"),
        (("c", 2001, vc.Distance.L2, 0, 0, False), "collection.dimension"),
        (("c", 3, None, 0, 0, False), "collection.distance"),
        (("c", 3, vc.Distance.L2, 101, 0, False), "collection.hnsw_m"),
        (("c", 3, vc.Distance.L2, 32, 40, False), "collection.hnsw_ef_construction"),
    ],
)
def test_collection_settings_are_validated(args: tuple, field: str) -> None:
    assert _refusal(vc.collection_spec, *args).field == field


def test_collection_defaults_follow_pgvector() -> None:
    spec = vc.collection_spec("docs.v1", 384, vc.Distance.COSINE, 0, 0, False)
    assert (spec.hnsw_m, spec.hnsw_ef_construction) == (16, 64)
    assert vc.collection_spec("c", 3, vc.Distance.L2, 48, 0, False).hnsw_ef_construction == 96


@pytest.mark.parametrize(
    ("name", "field"), [("vectorCollections/", "name"), ("collections/x", "parent")]
)
def test_collection_names_must_be_well_formed(name: str, field: str) -> None:
    assert _refusal(vc.parse_collection_name, name, field).field == field


def test_search_options_bound_k_and_ef_search() -> None:
    assert vs.search_options(0, None, False, False) == vs.SearchOptions(10, 100, False, False)
    assert vs.search_options(500, 40, False, False).ef_search == 500
    assert _refusal(vs.search_options, 1001, None, False, False).field == "k"
    assert _refusal(vs.search_options, -1, None, False, False).field == "k"
    assert _refusal(vs.search_options, 5, 0, False, False).field == "ef_search"
    assert _refusal(vs.search_options, 5, 1001, False, False).field == "ef_search"


def test_batches_are_limited_and_ids_unique() -> None:
    assert _refusal(vs.validate_batch, 0, "vectors").code == "E1002"
    assert _refusal(vs.validate_batch, 1001, "vectors").code == "E1205"
    assert _refusal(vs.validate_unique_ids, ["a", "b", "a"], "vectors").field == "vectors"
    assert _refusal(vs.validate_vector_id, "a b", "ids[2]").field == "ids[2]"
    assert _refusal(vs.validate_vector_id, "x" * 257, "ids[0]").field == "ids[0]"


def test_metadata_is_limited_to_64_kib() -> None:
    error = _refusal(vs.metadata_json, {"blob": "x" * 70_000}, "vectors[0].metadata")
    assert error.code == "E1206"


def test_struct_numbers_keep_integers_integral_and_refuse_nan() -> None:
    struct = struct_pb2.Struct()
    struct.update({"n": 3, "f": 1.5, "big": 2.0**60, "list": [1, {"x": 2}]})
    assert struct_to_python(struct, "content") == {
        "n": 3,
        "f": 1.5,
        "big": 2.0**60,
        "list": [1, {"x": 2}],
    }
    struct.update({"deep": {"bad": [1, math.nan]}})
    assert _refusal(struct_to_python, struct, "content").field == "content.deep.bad[1]"
    assert value_to_python(struct_pb2.Value(), "v") is None
