"""No views: the peer only migrates."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
