# The Flask page of bench/latency.sh: a page rendered from a Jinja template
# with a loop and filters, as a real view renders one (Debian's
# python3-flask).
from flask import Flask, render_template_string

app = Flask(__name__)

PAGE = """<!doctype html>
<html><head><title>{{ title }}</title></head>
<body>
<h1>{{ title|title }}</h1>
<table>
{% for t in tickets %}<tr class="{{ loop.cycle('odd', 'even') }}"><td>#{{ t.id }}</td><td>{{ t.summary|e }}</td><td>{{ t.owner|upper }}</td></tr>
{% endfor %}</table>
<p>{{ tickets|length }} tickets</p>
</body></html>
"""

TICKETS = [{"id": i, "summary": "Ticket <%d> & friends" % i, "owner": "user%d" % (i % 7)} for i in range(40)]


@app.route("/")
def index():
    return render_template_string(PAGE, title="open tickets", tickets=TICKETS)


application = app
