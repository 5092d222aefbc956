# A WSGI application that routes as Trac does and reports what it routed on.
# Trac's LoginModule.match_request is re.match(r'/(login|logout)/?$', path_info)
# on the environment's PATH_INFO; this app tells the two routes apart.
import json
import re

LOGIN = re.compile(r'/login/?$')
LOGOUT = re.compile(r'/logout/?$')


def application(environ, start_response):
    # PEP 3333: native strings carry the raw bytes as latin-1.
    def text(key):
        return environ.get(key, '').encode('latin-1').decode('utf-8', 'surrogateescape')

    path_info = text('PATH_INFO')
    if LOGIN.match(path_info):
        route = 'login'
    elif LOGOUT.match(path_info):
        route = 'logout'
    else:
        route = 'other'
    body = json.dumps({
        'script_name': text('SCRIPT_NAME'),
        'path_info': path_info,
        'route': route,
        'env_path': text('trac.env_path'),
        'remote_user': text('REMOTE_USER'),
    }).encode('utf-8')
    start_response('200 OK', [('Content-Type', 'application/json'),
                              ('X-Route-App', 'python'),
                              ('Content-Length', str(len(body)))])
    return [body]

