import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediahub.settings")
application = get_wsgi_application()
get_resolver().url_patterns  # noqa: B018 - imports every view now, before the freeze below
# What a worker has loaded lives as long as it does: out of the cyclic collector's full passes,
# which otherwise walk ~200,000 objects (~100 ms on a busy 2-core machine, benchmarks/embeddings.py)
# every few dozen requests.
gc.freeze()
