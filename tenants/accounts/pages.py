"""A page that a later issue fills: the navigation works and says plainly what will be here."""

from __future__ import annotations

from django.shortcuts import render

from tenants.accounts.permissions import area_required


def placeholder_page(*, area: str, title, description, template: str = "placeholder.html"):
    @area_required(area)
    def view(request):
        return render(request, template, {"page_title": title, "description": description})

    return view
