from django.urls import path

from api.views import SpaceDetail, SpaceList

urlpatterns = [
    path("v1/spaces", SpaceList.as_view()),
    path("v1/spaces/<uuid:space_id>", SpaceDetail.as_view()),
]
