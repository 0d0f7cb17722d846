"""The sandbox shop: a local stand-in for a Shopify store, so Relay can pull orders with no internet.

``generator`` holds the shop (its orders, how they are made and how they
change over time), built from the modules beside it; ``server`` speaks the
Shopify Admin REST API over HTTP on top of it. Nothing here imports Django
(amounts are rounded by core.money, which is plain Python):
``manage.py run_sandbox_shop`` only calls ``server.serve``.
"""
