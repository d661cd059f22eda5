from rest_framework import permissions
from rest_framework.request import Request


class HasScope(permissions.BasePermission):
    """Authenticated, with the scope the view needs.

    A view may set ``required_scope`` (one scope for every method) or ``required_scopes``
    (``{method: scope}``); otherwise safe methods need ``read`` and the rest ``write``.
    """

    def has_permission(self, request: Request, view) -> bool:
        if request.auth is None:
            return False
        self.message = f"This API key lacks the '{required_scope(request, view)}' scope."
        return request.auth.has_scope(required_scope(request, view))  # type: ignore[union-attr]


def required_scope(request: Request, view) -> str:
    by_method = getattr(view, "required_scopes", None) or {}
    if request.method in by_method:
        return by_method[request.method]
    if getattr(view, "required_scope", None):
        return view.required_scope
    return "read" if request.method in permissions.SAFE_METHODS else "write"
