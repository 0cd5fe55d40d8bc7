"""`POST /v20241104/search`: the documents API's search of the caller's database."""

from tenantry.data.access import DataReader, Livemode
from tenantry.data.search import service
from tenantry.data.search.schemas import MetadataSchema, SearchRequest, SearchResults
from tenantry.kernel.versions import V20241104
from tenantry.routing import Router

router = Router(prefix=V20241104, tags=["search"])


@router.post("/search")
async def search_documents(
    body: SearchRequest, session: DataReader, livemode: Livemode
) -> SearchResults:
    """Search the documents: `lexical` (full-text), `ai_semantic` (embeddings) or `hybrid`
    (both, fused), with filters, facets, sorting and pages."""
    return await service.search(session, body, livemode=livemode)


@router.get("/documents/metadata-schema")
async def get_metadata_schema(session: DataReader, livemode: Livemode) -> MetadataSchema:
    """The metadata fields in use, in dot notation, each with the type its first value
    gave it (keyword, integer, float, boolean, date, geo_point)."""
    return await service.metadata_schema(session, livemode=livemode)
