"""Base classes for API views."""

from rest_framework import generics, viewsets


class TenantScopedMixin:
    """The single place where API querysets are limited to the caller's tenant.

    Subclasses set ``queryset`` (of a ``TenantOwned`` model); every lookup, list and object access
    goes through ``get_queryset``, so another tenant's object is simply not found (404).
    """

    def get_queryset(self):
        return super().get_queryset().for_tenant(self.request.user)


class TenantScopedViewSet(TenantScopedMixin, viewsets.GenericViewSet):
    pass


class TenantScopedAPIView(TenantScopedMixin, generics.GenericAPIView):
    pass
