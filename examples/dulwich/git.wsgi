# A git server over HTTP ("smart" protocol) with dulwich (Debian's
# python3-dulwich), serving the repository GIT_REPO (from -env) at the root
# of the mount. See the README's dulwich recipe.
import os

from dulwich.repo import Repo
from dulwich.server import DictBackend
from dulwich.web import make_wsgi_chain

application = make_wsgi_chain(DictBackend({"/": Repo(os.environ["GIT_REPO"])}))
