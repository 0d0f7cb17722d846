import importlib

from django.apps import AppConfig


class ErpConfig(AppConfig):
    name = "erp"

    def ready(self) -> None:
        # The audit log's receivers: accounts' own connect when imported; erp.audit's name models of every app.
        importlib.import_module("erp.audit").connect()
