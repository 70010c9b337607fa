from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "霍邱县残疾人防返贫监测与帮扶管理系统"
admin.site.site_title = "霍邱县残联管理后台"
admin.site.index_title = "县残联管理"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("cases.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("subsidies/", include("subsidies.urls")),
]
