"""What the merchant dashboard reads (erp/dashboard.py draws it)."""
