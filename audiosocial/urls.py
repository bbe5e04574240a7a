from django.conf import settings
from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView


def healthz(request):
    return JsonResponse({"status": "ok"})


def phone_not_used(request, client):
    """allauth's headless API always routes its phone endpoints; members have no phone numbers
    here, so its adapter raises NotImplementedError (a 500). Answer in allauth's error shape."""
    message = "Phone numbers are not used on this site."
    return JsonResponse(
        {"status": 404, "errors": [{"message": message, "code": "not_found"}]}, status=404
    )


# Each app owns its REST routes (``<app>/api_urls.py``) and web pages (``<app>/urls.py``).
api_patterns = [
    path("", include("accounts.api_urls")),
    path("", include("follows.api_urls")),
    path("", include("rooms.api_urls")),
    path("", include("moderation.api_urls")),
    path("", include("notifications.api_urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("_allauth/<str:client>/v1/account/phone", phone_not_used),
    path("_allauth/<str:client>/v1/auth/phone/verify", phone_not_used),
    path("_allauth/<str:client>/v1/auth/phone/verify/resend", phone_not_used),
    path("_allauth/", include("allauth.headless.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include(api_patterns)),
    path("healthz", healthz, name="healthz"),
    path("", include("accounts.urls")),
    path("", include("follows.urls")),
    path("", include("rooms.urls")),
    path("", include("moderation.urls")),
    path("", include("notifications.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
