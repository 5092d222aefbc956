"""A stand-in for trac.web.main so that the examples run without Trac.

dispatch_request picks its environment the way Trac does: environ's
'trac.env_path' first, then os.environ['TRAC_ENV']. It answers with the
project's name (from <env>/conf/trac.ini, else the directory's name), the path
it routed on and the user; like Trac, it fails on /login when the web server
authenticated nobody. /about tells which environment was chosen and from
where (trac.env_path in environ, TRAC_ENV in os.environ), so the examples can
show that nothing leaks between scripts.
"""
import configparser
import os


def _reply(start_response, status, text):
    body = text.encode('utf-8')
    start_response(status, [('Content-Type', 'text/plain; charset=utf-8'),
                            ('Content-Length', str(len(body)))])
    return [body]


def dispatch_request(environ, start_response):
    env_path = environ.get('trac.env_path') or os.environ.get('TRAC_ENV')
    if not env_path or not os.path.isdir(env_path):
        return _reply(start_response, '500 Internal Server Error',
                      'Trac environment not found: %r\n' % env_path)
    ini = configparser.ConfigParser()
    ini.read(os.path.join(env_path, 'conf', 'trac.ini'))
    project = ini.get('project', 'name', fallback=os.path.basename(env_path))
    path = environ.get('PATH_INFO') or '/'
    user = environ.get('REMOTE_USER')
    if path == '/about':
        return _reply(start_response, '200 OK', '%s: trac.env_path=%s TRAC_ENV=%s\n' % (
            project, os.path.basename(environ.get('trac.env_path', '-')),
            os.path.basename(os.environ.get('TRAC_ENV', '-'))))
    if path == '/login':
        if not user:
            # What Trac answers when nothing guarded its login page.
            return _reply(start_response, '500 Internal Server Error',
                          'Authentication information not available.\n')
        return _reply(start_response, '200 OK', '%s: logged in as %s (%s)\n'
                      % (project, user, environ.get('AUTH_TYPE')))
    return _reply(start_response, '200 OK', '%s: %s%s user=%s\n'
                  % (project, environ.get('SCRIPT_NAME', ''), path, user or '-'))
