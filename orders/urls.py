from django.urls import path

from orders import views
from orders.routing import views as routing_views

app_name = "orders"
urlpatterns = [
    path("orders/", views.order_list, name="list"),
    path("orders/holds/", routing_views.holds, name="holds"),
    path("orders/holds/jobs/<str:job_id>/", routing_views.routing_job, name="routing_job"),
    path("orders/<int:pk>/", views.order_detail, name="detail"),
    path("products/listings/unmapped/", routing_views.unmapped, name="unmapped"),
    path("routing/", routing_views.routing_index, name="routing"),
    path("routing/draft/", routing_views.draft_create, name="routing_draft"),
    path("routing/versions/<int:pk>/", routing_views.ruleset_detail, name="ruleset"),
    path("routing/versions/<int:pk>/discard/", routing_views.draft_discard, name="ruleset_discard"),
    path("routing/versions/<int:pk>/rules/add/<str:kind>/", routing_views.rule_add, name="rule_add"),
    path("routing/versions/<int:pk>/activate/", routing_views.ruleset_activate, name="ruleset_activate"),
    path("routing/versions/<int:pk>/simulate/", routing_views.ruleset_simulate, name="ruleset_simulate"),
    path("routing/rules/<int:pk>/", routing_views.rule_edit, name="rule_edit"),
    path("routing/rules/<int:pk>/<str:action>/", routing_views.rule_action, name="rule_action"),
    path("routing/simulations/<int:pk>/", routing_views.simulation_detail, name="simulation"),
]
