# The seed's more elaborate script, one per environment: environ's
# trac.env_path names the environment. It also sets os.environ['TRAC_ENV'],
# the pattern the seed warns against; under gowsgi each script runs in its own
# worker processes, so even that value stays with this script.
import os
import site

here = os.path.dirname(os.path.abspath(__file__))
site.addsitedir(here)
os.environ['TRAC_ENV'] = os.path.join(here, 'envs', 'alpha')

import minitrac  # import trac.web.main


def application(environ, start_response):
    environ['trac.env_path'] = os.path.join(here, 'envs', 'alpha')
    return minitrac.dispatch_request(environ, start_response)
