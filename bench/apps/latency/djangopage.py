# The Django page of bench/latency.sh: one view rendered from a Django
# template through the whole middleware stack of a default project (Debian's
# python3-django), as a single-file application.
import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-latency-not-secret",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ],
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
)
django.setup()

from django.http import HttpResponse  # noqa: E402
from django.template import engines  # noqa: E402
from django.urls import path  # noqa: E402

PAGE = engines["django"].from_string("""<!doctype html>
<html><head><title>{{ title }}</title></head>
<body>
<h1>{{ title|title }}</h1>
<table>
{% for t in tickets %}<tr class="{% cycle 'odd' 'even' %}"><td>#{{ t.id }}</td><td>{{ t.summary }}</td><td>{{ t.owner|upper }}</td></tr>
{% endfor %}</table>
<p>{{ tickets|length }} tickets</p>
</body></html>
""")

TICKETS = [{"id": i, "summary": "Ticket <%d> & friends" % i, "owner": "user%d" % (i % 7)} for i in range(40)]


def index(request):
    return HttpResponse(PAGE.render({"title": "open tickets", "tickets": TICKETS}, request))


urlpatterns = [path("", index)]

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
