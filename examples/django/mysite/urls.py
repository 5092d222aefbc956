from django.http import HttpResponse, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import path, reverse


def index(request):
    return HttpResponse(
        'Django index at %s/, style %s\n' % (request.META["SCRIPT_NAME"], static("site.css")))


def go(request):
    return HttpResponseRedirect(reverse("index"))


urlpatterns = [path("", index, name="index"), path("go", go)]
