# The test application wrapped in Python's own PEP 3333 checker; any
# assertion or WSGIWarning it raises fails the request (500, logged).
import importlib.machinery
import importlib.util
import os
import warnings
from wsgiref.validate import validator, WSGIWarning

warnings.simplefilter('error', WSGIWarning)

_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'app.wsgi')
_loader = importlib.machinery.SourceFileLoader('_validated_app', _path)
_spec = importlib.util.spec_from_file_location('_validated_app', _path, loader=_loader)
_mod = importlib.util.module_from_spec(_spec)
_loader.exec_module(_mod)

application = validator(_mod.application)
