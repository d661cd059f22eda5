"""Base classes for API views: every API view derives from one of them.

- ``ApiView``: a view without a model (``GET /tenant``, actions).
- ``TenantScopedViewSet`` / ``TenantScopedAPIView``: views over a ``TenantOwned`` model.

All of them honour ``Idempotency-Key`` on POST (see ``mediahub.api.idempotency``).
"""

from typing import Any, cast

from django.db.models import QuerySet
from rest_framework import generics, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mediahub.api import idempotency
from tenants.models import Tenant


class TenantMixin(APIView):
    @property
    def tenant(self) -> Tenant:
        """The caller's tenant: API-key (and playback-token) authentication put it in ``request.user``."""
        return cast(Tenant, self.request.user)


class IdempotentPostMixin(APIView):
    """Claims the request's ``Idempotency-Key`` after auth, permissions and throttling; replays the
    stored response of a repeat instead of running the handler again."""

    idempotency_record = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        key = request.headers.get(idempotency.HEADER)
        if request.method != "POST" or key is None or not isinstance(request.user, Tenant):
            return
        idempotency.validate_key(key)
        self.idempotency_record = idempotency.claim(
            request.user, key, idempotency.request_fingerprint(request)
        )

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, idempotency.Replay):
            return exc.response()  # type: ignore[return-value]
        return super().handle_exception(exc)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.idempotency_record is not None:
            idempotency.finish(self.idempotency_record, response)
        return response


class TenantScopedMixin(TenantMixin, generics.GenericAPIView):
    """The single place where API querysets are limited to the caller's tenant.

    Subclasses set ``queryset`` (of a ``TenantOwned`` model); every lookup, list and object access
    goes through ``get_queryset``, so another tenant's object is simply not found (404).
    """

    def get_queryset(self) -> QuerySet[Any]:
        return super().get_queryset().for_tenant(self.tenant)  # type: ignore[attr-defined]


class ApiView(IdempotentPostMixin, TenantMixin, APIView):
    pass


class TenantScopedViewSet(IdempotentPostMixin, TenantScopedMixin, viewsets.GenericViewSet):
    pass


class TenantScopedAPIView(IdempotentPostMixin, TenantScopedMixin, generics.GenericAPIView):
    pass
