from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from tenants.accounts.permissions import area_permission
from tenants.accounts.selectors import supplier_id_for


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField()
    role = serializers.CharField()
    supplier_id = serializers.IntegerField(allow_null=True)
    tenant = serializers.CharField()
    language = serializers.CharField(help_text="The language the user chose (en, zh-hans); empty: the browser's.")


@extend_schema(responses=MeSerializer, summary="The current user and their role")
@api_view(["GET"])
@permission_classes([area_permission("account")])
def me(request):
    profile = request.user.profile
    return Response(
        MeSerializer(
            {
                "id": request.user.pk,
                "email": request.user.email,
                "name": request.user.get_full_name(),
                "role": profile.role,
                "supplier_id": supplier_id_for(request.user),
                "tenant": request.tenant.slug,
                "language": profile.language,
            }
        ).data
    )
