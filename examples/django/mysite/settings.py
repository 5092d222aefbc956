# Settings of a minimal Django project (Debian's python3-django). The
# README's Django recipe puts examples/django on sys.path (-python-path) and
# serves STATIC_ROOT at STATIC_URL with -static, as Apache's Alias would.
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "example-only-" + "x" * 50  # a real site reads it from the environment
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "mysite.urls"
INSTALLED_APPS = ["django.contrib.staticfiles"]
MIDDLEWARE = []
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "static"
USE_TZ = True
