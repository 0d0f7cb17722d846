"""API routes of this area, included under /api/v1/ by erp/urls.py."""

from django.urls import path

from orders.routing import api as routing_api

urlpatterns: list = [
    path("routing/rulesets/", routing_api.ruleset_list, name="routing-rulesets"),
    path("routing/rulesets/<int:pk>/", routing_api.ruleset_detail, name="routing-ruleset"),
    path("routing/rulesets/<int:pk>/rules/", routing_api.rule_create, name="routing-rules"),
    path("routing/rulesets/<int:pk>/rules/<int:rule_id>/", routing_api.rule_detail, name="routing-rule"),
    path("routing/rulesets/<int:pk>/rules/<int:rule_id>/move/", routing_api.rule_move, name="routing-rule-move"),
    path("routing/rulesets/<int:pk>/activate/", routing_api.ruleset_activate, name="routing-ruleset-activate"),
    path("routing/rulesets/<int:pk>/simulate/", routing_api.ruleset_simulate, name="routing-ruleset-simulate"),
    path("routing/simulations/<int:pk>/", routing_api.simulation_detail, name="routing-simulation"),
    path("routing/holds/", routing_api.hold_list, name="routing-holds"),
    path("routing/holds/release/", routing_api.hold_release, name="routing-holds-release"),
    path("routing/jobs/<str:job_id>/", routing_api.routing_job, name="routing-job"),
    path("listings/unmapped/", routing_api.listing_unmapped, name="listings-unmapped"),
    path("routing/reroute/", routing_api.order_reroute, name="routing-reroute"),
    path("orders/<int:pk>/routing/", routing_api.order_routing, name="routing-order"),
]
