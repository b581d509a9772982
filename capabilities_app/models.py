"""Django's entry point for the app's models: it imports ``capabilities_app.models``.

The models live in ``store/models/``, split by part family; this module only makes
Django find them. Code imports them from ``capabilities_app.store.models``.
"""

from capabilities_app.store.models import *  # noqa: F403 - Django's entry point, see above
