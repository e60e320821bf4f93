from __future__ import annotations

import os
import warnings

from django.core.asgi import get_asgi_application

# WhiteNoise serves static files with a sync iterator, which Django reads whole before sending
# under ASGI (and warns each time); they are small. The event stream is an async iterator.
warnings.filterwarnings(
    "ignore", message="StreamingHttpResponse must consume synchronous iterators", category=Warning
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assistant.settings")

application = get_asgi_application()
