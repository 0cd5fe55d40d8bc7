"""The three spaces endpoints, as Tenantry serves them: one query each (has_background is
an EXISTS in the same SELECT)."""

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from rest_framework import generics, status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from api.models import Space, SpaceBackground
from api.serializers import SpaceCreateSerializer, SpaceSerializer


def spaces() -> QuerySet[Space]:
    return Space.objects.annotate(
        has_background=Exists(SpaceBackground.objects.filter(space_id=OuterRef("pk")))
    )


class SpacePagination(CursorPagination):
    ordering = ("created_at", "space_id")
    page_size = 20
    page_size_query_param = "limit"
    max_page_size = 100

    def get_paginated_response(self, data: Any) -> Response:
        meta = {"next_cursor": self.get_next_link(), "has_more": self.has_next}
        return Response({"data": data, "meta": meta})


class SpaceList(generics.ListCreateAPIView):
    serializer_class = SpaceSerializer
    pagination_class = SpacePagination

    def get_queryset(self) -> QuerySet[Space]:
        return spaces()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incoming = SpaceCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        space = Space.objects.create(**incoming.validated_data)
        space.has_background = False
        return Response(SpaceSerializer(space).data, status=status.HTTP_201_CREATED)


class SpaceDetail(generics.RetrieveAPIView):
    serializer_class = SpaceSerializer
    lookup_field = "space_id"

    def get_queryset(self) -> QuerySet[Space]:
        return spaces()
