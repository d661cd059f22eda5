from django.urls import path

from mediahub.images import views

urlpatterns = [
    path("media/<uuid:pk>/transform/<path:ops>", views.MediaTransformView.as_view(), name="media-transform"),
    path("media/<uuid:pk>/transform-url", views.TransformUrlView.as_view(), name="media-transform-url"),
    path(
        "img/<str:key_id>/<str:sig>/<str:token>", views.SignedTransformView.as_view(), name="signed-transform"
    ),
    path("image-signing-key", views.SigningKeyView.as_view(), name="image-signing-key"),
    path("image-signing-key/rotate", views.SigningKeyRotateView.as_view(), name="image-signing-key-rotate"),
]
