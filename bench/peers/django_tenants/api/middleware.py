"""The tenant of a request, from its `X-API-Key` header: django-tenants resolves tenants
from host names only."""

import hashlib
from collections.abc import Callable

from customers.models import Client
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

UNAUTHORIZED = {"detail": "The API key is not valid."}


class TenantFromApiKey:
    """Looks the key's SHA-256 up in the tenant table once, then keeps it in this process."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.tenants: dict[str, Client] = {}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get("X-API-Key")
        if not key:
            return JsonResponse(UNAUTHORIZED, status=401)
        digest = hashlib.sha256(key.encode()).hexdigest()
        tenant = self.tenants.get(digest)
        if tenant is None:
            connection.set_schema_to_public()
            tenant = Client.objects.filter(api_key_sha256=digest).first()
            if tenant is None:
                return JsonResponse(UNAUTHORIZED, status=401)
            self.tenants[digest] = tenant
        if connection.tenant is not tenant:  # set_tenant() would `SET search_path` again
            connection.set_tenant(tenant)
        return self.get_response(request)
