"""VectorService servicer: maps RPCs to the vector store, and back."""

from __future__ import annotations

import grpc

from agentic.data.v1 import vectors_pb2 as pb
from agentic.data.v1 import vectors_pb2_grpc as pb_grpc
from services.kit import current_principal
from services.l01_data.proto_json import struct_from_json, struct_to_python
from services.l01_data.query_proto import parse_filters
from services.l01_data.vectors import store as vs
from services.l01_data.vectors import tables as vc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["VectorService"].full_name

_DISTANCES = {
    pb.DISTANCE_COSINE: vc.Distance.COSINE,
    pb.DISTANCE_L2: vc.Distance.L2,
    pb.DISTANCE_INNER_PRODUCT: vc.Distance.INNER_PRODUCT,
}
_DISTANCE_PROTOS = {domain: proto for proto, domain in _DISTANCES.items()}


def collection_proto(state: vs.CollectionState) -> pb.VectorCollection:
    info = state.info
    message = pb.VectorCollection(
        name=vc.collection_name(info.collection_id),
        dimension=info.dimension,
        distance=_DISTANCE_PROTOS[info.distance],
        hnsw_m=info.hnsw_m,
        hnsw_ef_construction=info.hnsw_ef_construction,
        indexed=state.indexed,
        vector_count=state.vector_count or 0,
    )
    message.create_time.FromDatetime(info.create_time)
    return message


def _new_vectors(request: pb.UpsertVectorsRequest) -> list[vs.NewVector]:
    vs.validate_batch(len(request.vectors), "vectors")
    parsed = []
    for i, vector in enumerate(request.vectors):
        where = f"vectors[{i}]"
        metadata = (
            struct_to_python(vector.metadata, f"{where}.metadata")
            if vector.HasField("metadata")
            else None
        )
        parsed.append(
            vs.NewVector(
                vs.validate_vector_id(vector.id, f"{where}.id"),
                list(vector.values),
                vs.metadata_json(metadata, f"{where}.metadata"),
            )
        )
    vs.validate_unique_ids([v.id for v in parsed], "vectors")
    return parsed


class VectorServicer(pb_grpc.VectorServiceServicer):
    def __init__(self, store: vs.VectorStore) -> None:
        self._store = store

    async def CreateCollection(
        self, request: pb.CreateCollectionRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateCollectionResponse:
        wanted = request.collection
        spec = vc.collection_spec(
            request.collection_id,
            wanted.dimension,
            _DISTANCES.get(wanted.distance),
            wanted.hnsw_m,
            wanted.hnsw_ef_construction,
            wanted.defer_index,
        )
        state = await self._store.create(spec, current_principal.get())
        return pb.CreateCollectionResponse(collection=collection_proto(state))

    async def GetCollection(
        self, request: pb.GetCollectionRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCollectionResponse:
        collection_id = vc.parse_collection_name(request.name, "name")
        state = await self._store.get(collection_id)
        return pb.GetCollectionResponse(collection=collection_proto(state))

    async def ListCollections(
        self, request: pb.ListCollectionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCollectionsResponse:
        states, token = await self._store.list_collections(
            vs.validate_page_size(request.page_size), request.page_token
        )
        return pb.ListCollectionsResponse(
            collections=[collection_proto(s) for s in states], next_page_token=token
        )

    async def DeleteCollection(
        self, request: pb.DeleteCollectionRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteCollectionResponse:
        collection_id = vc.parse_collection_name(request.name, "name")
        count = await self._store.delete(collection_id, current_principal.get())
        return pb.DeleteCollectionResponse(deleted_vector_count=count)

    async def BuildIndex(
        self, request: pb.BuildIndexRequest, context: grpc.aio.ServicerContext
    ) -> pb.BuildIndexResponse:
        collection_id = vc.parse_collection_name(request.name, "name")
        state, built = await self._store.build_index(collection_id, current_principal.get())
        return pb.BuildIndexResponse(collection=collection_proto(state), built=built)

    async def UpsertVectors(
        self, request: pb.UpsertVectorsRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpsertVectorsResponse:
        collection_id = vc.parse_collection_name(request.parent, "parent")
        vectors = _new_vectors(request)
        count = await self._store.upsert(collection_id, vectors, current_principal.get())
        return pb.UpsertVectorsResponse(upserted_count=count)

    async def DeleteVectors(
        self, request: pb.DeleteVectorsRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteVectorsResponse:
        collection_id = vc.parse_collection_name(request.parent, "parent")
        vs.validate_batch(len(request.ids), "ids")
        ids = [vs.validate_vector_id(v, f"ids[{i}]") for i, v in enumerate(request.ids)]
        count = await self._store.delete_vectors(collection_id, ids, current_principal.get())
        return pb.DeleteVectorsResponse(deleted_count=count)

    async def GetVector(
        self, request: pb.GetVectorRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetVectorResponse:
        collection_id = vc.parse_collection_name(request.parent, "parent")
        vector = await self._store.get_vector(
            collection_id, vs.validate_vector_id(request.id, "id")
        )
        return pb.GetVectorResponse(
            vector=pb.Vector(
                id=vector.id,
                values=vector.values,
                metadata=struct_from_json(vector.metadata_json),
            )
        )

    async def SearchVectors(
        self, request: pb.SearchVectorsRequest, context: grpc.aio.ServicerContext
    ) -> pb.SearchVectorsResponse:
        collection_id = vc.parse_collection_name(request.parent, "parent")
        options = vs.search_options(
            request.k,
            request.ef_search if request.HasField("ef_search") else None,
            request.exact,
            request.include_values,
        )
        filters = parse_filters(request.filters)
        matches = await self._store.search(collection_id, list(request.vector), filters, options)
        return pb.SearchVectorsResponse(
            matches=[
                pb.SearchMatch(
                    id=m.id,
                    distance=m.distance,
                    metadata=struct_from_json(m.metadata_json),
                    values=m.values or (),
                )
                for m in matches
            ]
        )
