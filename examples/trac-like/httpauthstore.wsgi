# Trac AccountManager's HttpAuthStore, reduced to what it does with the web
# server: Trac shows its own login form, then checks the password by fetching
# authentication_url with the user's credentials (Basic or Digest); 200 means
# the password is right. The URL comes from AUTHENTICATION_URL in os.environ
# (gowsgi -env), made absolute with the request's host as AccountManager does.
import os
import urllib.error
import urllib.parse
import urllib.request


def check_password(auth_url, user, password):
    mgr = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    mgr.add_password(None, auth_url, user, password)
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),  # the URL is on this very server
        urllib.request.HTTPBasicAuthHandler(mgr),
        urllib.request.HTTPDigestAuthHandler(mgr))
    try:
        with opener.open(auth_url, timeout=10) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def application(environ, start_response):
    auth_url = os.environ.get('AUTHENTICATION_URL', '/authFile')
    if auth_url.startswith('/'):
        auth_url = '%s://%s%s' % (environ['wsgi.url_scheme'], environ['HTTP_HOST'], auth_url)
    if environ.get('PATH_INFO') != '/login' or environ['REQUEST_METHOD'] != 'POST':
        body = b'POST user and password to /login\n'
        status = '200 OK'
    else:
        size = int(environ.get('CONTENT_LENGTH') or 0)
        form = urllib.parse.parse_qs(environ['wsgi.input'].read(size).decode('utf-8'))
        user = form.get('user', [''])[0]
        if check_password(auth_url, user, form.get('password', [''])[0]):
            status, body = '200 OK', ('welcome %s\n' % user).encode('utf-8')
        else:
            status, body = '403 Forbidden', b'invalid user name or password\n'
    start_response(status, [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
    return [body]
