"""The naive proxy's one route: ``/ships/<imo>``."""

from django.urls import path

from bench.baselines.naive_proxy.views import ShipView

urlpatterns = [path("ships/<str:imo>", ShipView.as_view())]
