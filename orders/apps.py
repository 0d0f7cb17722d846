from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        # Registers the simulation task with Celery (autodiscovery only looks in tasks.py).
        from orders.routing import simulation  # noqa: F401
