# The seed's very basic script. The web server sets TRAC_ENV in the worker's
# os.environ (gowsgi -env TRAC_ENV=..., wsgi.Config.Env); each gowsgi handler
# has its own worker processes, so the value cannot leak to another script.
# With -env-parent-dir, environ['trac.env_path'] names the environment instead.
import os
import site

# The seed's advice for libraries outside the standard path: here, minitrac.py
# next to this script stands in for Trac.
site.addsitedir(os.path.dirname(os.path.abspath(__file__)))

import minitrac  # import trac.web.main

application = minitrac.dispatch_request  # trac.web.main.dispatch_request
