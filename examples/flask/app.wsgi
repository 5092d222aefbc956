# A Flask application (Debian's python3-flask), mounted with -mount /flask:
# Flask reads SCRIPT_NAME, so url_for and redirects stay under the mount.
# See the README's Flask recipe.
from flask import Flask, redirect, request, url_for

app = Flask(__name__)


@app.route("/")
def index():
    return "Flask index at %s\n" % request.script_root


@app.route("/form", methods=["GET", "POST"])
def form():
    if request.method == "POST":
        return "Hello, %s!\n" % request.form["name"]
    return '<form method="post"><input name="name"></form>\n'


@app.route("/go")
def go():
    return redirect(url_for("index"))


@app.route("/whoami")
def whoami():
    # REMOTE_ADDR and the URL as the client used it (wsgi.url_scheme,
    # HTTP_HOST): behind a -trusted-proxy, what the proxy says.
    return "%s %s\n" % (request.remote_addr, request.url)


application = app
