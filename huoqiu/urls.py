"""Root URLs.

Convention: the site-level pages `login`, `logout` and `home` are named without a
namespace (settings.LOGIN_URL / LOGIN_REDIRECT_URL use them); every app page is
namespaced (`cases:…`, `monitoring:…`, `subsidies:…`).
"""

from django.contrib import admin
from django.urls import include, path

from staff.views import accounts, offline

admin.site.site_header = "霍邱县残疾人防返贫监测与帮扶管理系统"
admin.site.site_title = "霍邱县残联管理后台"
admin.site.index_title = "县残联管理"

urlpatterns = [
    path("", accounts.home, name="home"),
    path("login/", accounts.HuoqiuLoginView.as_view(), name="login"),
    # Logout also clears what the offline visit capture stored on the phone (docs/FIELDWORK.md).
    path("logout/", offline.ClearingLogoutView.as_view(), name="logout"),
    # The service worker of the installable app, served at the root to control every page.
    path("sw.js", offline.service_worker, name="service_worker"),
    path("admin/", admin.site.urls),
    path("", include("staff.urls")),
]
